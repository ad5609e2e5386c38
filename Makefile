# `make` builds and grades, `make test` runs the test suite, `make edit` opens the reference
# notebook in JupyterLab, `make browser` installs chromium for the report's browser test.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
TORCH := torch==2.13.0
# The CPU build of torch (no CUDA download) from PyTorch's own index, tried first with a short
# timeout; when that index cannot serve it (offline, mirrors only), pip's configured index.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
CHROMIUM := /usr/bin/chromium
NOTEBOOK := reference/HW1.2_Backpropagation.ipynb
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: all test edit browser clean

all: $(VENV)/.installed
	$(VENV)/bin/backprop-grader assign

# Test files in parallel, one file per process; the files that wait for the slow inputs
# (tests/slow_inputs.py, made beside them) last.
test: $(VENV)/.installed
	$(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder

edit: $(VENV)/.jupyterlab
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(NOTEBOOK)

browser:
	@test -x $(CHROMIUM) || { apt-get update && apt-get install -y chromium; }

# torch first, so the package's range (torch>=2.1,<3) is already satisfied by a CPU build.
$(VENV)/.installed: setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "Python 3.10 or newer is needed: make PYTHON=python3.x" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --timeout 10 --retries 0 --index-url $(TORCH_CPU_INDEX) $(TORCH) \
		|| $(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.jupyterlab: $(VENV)/.installed
	$(PY) -m pip install --quiet jupyterlab
	touch $@

clean:
	rm -rf $(VENV) dist build *.egg-info
