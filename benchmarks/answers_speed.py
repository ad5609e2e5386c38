"""Time every case of tests/test_answers.py and print the median and maximum per call.

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


def load_cases():
    spec = importlib.util.spec_from_file_location("test_answers", ROOT / "tests" / "test_answers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES, module.run


def main(repeats=3):
    cases, run = load_cases()
    run("compare_value", "1", "1")      # first call pays for sympy's lazy imports
    timings = []
    for case in cases:
        function, answer, reference, _ = case
        for _ in range(repeats):
            clear_cache()
            start = time.perf_counter()
            run(function, answer, reference)
            timings.append((time.perf_counter() - start, case))
    times = [t for t, _ in timings]
    print(f"{len(cases)} cases x {repeats} runs")
    print(f"median {statistics.median(times) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms")
    print("slowest:")
    for seconds, (function, answer, reference, _) in sorted(timings, key=lambda t: t[0])[-5:]:
        print(f"  {seconds * 1e3:7.2f} ms  {function}({str(answer)[:50]!r}, {reference!r})")


if __name__ == "__main__":
    main()
