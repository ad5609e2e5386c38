"""Time the answer checks: every case of tests/test_answers.py and tests/test_answer_readings.py
(answers as students write them), then every adversarial input of the latter against each
check; print the median and maximum per call, and the slowest calls.

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


def ordinary_calls():
    """(label, call) for the table cases: right, wrong, unreadable and placeholder answers."""
    table, readings = load("test_answers"), load("test_answer_readings")
    calls = []
    for function, answer, reference, _ in table.CASES:
        calls.append((f"{function}({str(answer)[:50]!r}, {reference!r})",
                      lambda f=function, a=answer, r=reference: table.run(f, a, r)))
    for function, answer, reference, _, _ in readings.CASES:
        compare = readings.compare_value if function == readings.V else readings.compare_bigo
        calls.append((f"{function}({str(answer)[:50]!r}, {reference!r})",
                      lambda c=compare, a=answer, r=reference: c(a, r)))
    return calls


def adversarial_calls():
    readings = load("test_answer_readings")
    def label(answer):
        return f"an int of {answer.bit_length()} bits" if isinstance(answer, int) else repr(answer)[:50]

    return [(f"check {i}({label(answer)})", lambda c=call, a=answer: c(a))
            for answer in readings.ADVERSARIAL for i, call in enumerate(readings.CALLS)]


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


if __name__ == "__main__":
    main()
