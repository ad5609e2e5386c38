"""Time the answer checks: every case of tests/test_answers.py, tests/test_answer_readings.py
and tests/test_answers_as_written.py (answers as students write them: chains, alternatives,
prose, exact and decimal values), then every adversarial input of the last two against
each of their checks, then read_boxes() on the hostile notebooks of tests/test_boxes.py.
Prints the median and maximum per call, and the slowest calls; asserts nothing.

sympy's cache is cleared before each call, so repeated cases do not flatter the figures.

Run from the repository root:  .venv/bin/python benchmarks/answers_speed.py
"""
import importlib.util
import statistics
import sys
import time
from pathlib import Path

from sympy.core.cache import clear_cache

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _label(function, answer, reference=None):
    answer = f"an int of {answer.bit_length()} bits" if isinstance(answer, int) and \
        not isinstance(answer, bool) else repr(answer)[:50]
    return f"{function}({answer}" + (f", {reference!r})" if reference is not None else ")")


def ordinary_calls():
    """(label, call) for the table cases: right, wrong, unreadable and placeholder answers."""
    table, readings, written = load("test_answers"), load("test_answer_readings"), \
        load("test_answers_as_written")
    calls = []
    for function, answer, reference, _ in table.CASES:
        calls.append((_label(function, answer, reference),
                      lambda f=function, a=answer, r=reference: table.run(f, a, r)))
    for function, answer, reference, _, _ in readings.CASES:
        compare = readings.compare_value if function == readings.V else readings.compare_bigo
        calls.append((_label(function, answer, reference),
                      lambda c=compare, a=answer, r=reference: c(a, r)))
    for function, answer, reference, _, _ in written.CASES:
        calls.append((_label(function, answer, reference),
                      lambda c=written.FUNCTIONS[function], a=answer, r=reference: c(a, r)))
    for check, answer, _ in written.READABLE:
        calls.append((_label(check.__name__, answer), lambda c=check, a=answer: c(a)))
    return calls


def adversarial_calls():
    calls = []
    for module in (load("test_answer_readings"), load("test_answers_as_written")):
        calls += [(_label(f"check {i}", answer), lambda c=call, a=answer: c(a))
                  for answer in module.ADVERSARIAL for i, call in enumerate(module.CALLS)]
    return calls


def markdown_calls():
    """read_boxes() on each hostile markdown of tests/test_boxes.py, in a notebook of 12 or 6 cells."""
    import nbformat

    boxes = load("test_boxes")
    labels = boxes.box_labels(nbformat.read(boxes.MASTER, as_version=4))
    notebooks = [boxes.md(*([source] * 12)) for source in boxes.HOSTILE] + \
        [boxes.md(*([source] * 6)) for source in boxes.HOSTILE_DISPLAY]
    notebooks += [boxes.fill(boxes.published(), boxes.FILLED), boxes.unbox(boxes.published(), boxes.FILLED)]
    return [(f"read_boxes(notebook {i})", lambda n=notebook: boxes.read_boxes(n, labels))
            for i, notebook in enumerate(notebooks)]


def measure(calls, repeats):
    timings = []
    for label, call in calls:
        for _ in range(repeats):
            clear_cache()
            start = time.perf_counter()
            call()
            timings.append((time.perf_counter() - start, label))
    return timings


def report(title, timings):
    times = [t for t, _ in timings]
    print(f"{title}: {len(timings)} calls")
    print(f"  median {statistics.median(times) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms")
    for seconds, label in sorted(timings)[-5:]:
        print(f"  {seconds * 1e3:7.2f} ms  {label}")


def main(repeats=3):
    load("test_answers").run("compare_value", "1", "1")    # sympy's lazy imports
    report("answers as students write them", measure(ordinary_calls(), repeats))
    report("adversarial inputs", measure(adversarial_calls(), 1))
    report("markdown of hostile notebooks", measure(markdown_calls(), 1))


if __name__ == "__main__":
    main()
