# Two entry points: `make` builds and grades, `make test` runs the test suite.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: all test clean

all: $(VENV)/.installed
	$(VENV)/bin/backprop-grader assign

test: $(VENV)/.installed
	$(PY) -m pytest

# torch==2.13.0 first: it is the CPU build on this machine, and it satisfies the package's range.
$(VENV)/.installed: setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) dist build *.egg-info
