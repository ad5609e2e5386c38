"""How fast grading is, against its floor, and where the time of one submission goes.

    single   one submission through the zip's Gradescope entry point (`python -I -m
             grader.gradescope DIR`, as run_autograder runs it) against `python -c "import
             torch"`, in turn (A B A B ...): medians of wall and CPU seconds, peak memory of the
             largest process, and the ratio A/B of each pair. Target: at most 1.5.
    batch    a warm batch: N realistic submissions (the engine corpus of tests/engines.py,
             right and wrong engines, and notebooks with answers as students type them; no
             hangs) graded by W workers that have already graded one submission each, as
             `backprop-grader grade` grades a class: submissions per second and peak memory.
             Target: at least 5 per second with 2 workers.
    profile  one warm submission in a grading process that has graded one before: the time of
             each step (intake, reading the cells, each child's start and confinement, loading
             the cells, each case's round trip, judging, writing the results), and the
             functions of the grading process that take the most time.

Run after `make` (it needs dist/autograder.zip, dist/reference-solution.ipynb and the student
template):
    .venv/bin/python benchmarks/grading_speed.py single [--runs 5]
    .venv/bin/python benchmarks/grading_speed.py batch [--submissions 40] [--workers 2]
    .venv/bin/python benchmarks/grading_speed.py profile
"""

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT / "dist" / "autograder.zip"
SOLVED = ROOT / "dist" / "reference-solution.ipynb"
BLANK = ROOT / "student_template" / "HW1.2_Backpropagation.ipynb"
NOTEBOOK = "HW1.2_Backpropagation.ipynb"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def autograder_dir(base, notebook):
    """A Gradescope-style directory: source/ (the zip), submission/ (the notebook), results/."""
    for part in ("source", "submission", "results"):
        (base / part).mkdir(parents=True)
    with zipfile.ZipFile(ZIP) as zf:
        zf.extractall(base / "source")
    shutil.copy(notebook, base / "submission" / NOTEBOOK)
    return base


def run(command):
    """(wall s, cpu s, peak MiB of the largest process) of a command and all it waits for."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command} failed with {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def single(runs):
    torch_only = [sys.executable, "-c", "import torch"]
    rows = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(runs + 1):   # the first pair warms the disk cache and is not counted
            folder = autograder_dir(Path(tmp) / f"run{k}", SOLVED)
            a = run([sys.executable, "-I", "-m", "grader.gradescope", str(folder)])
            b = run(torch_only)
            if k:
                rows["A"].append(a)
                rows["B"].append(b)
    print(f"A: one submission through the Gradescope entry point; B: python -c 'import torch'"
          f" ({runs} pairs, medians)")
    for label, index in (("wall s", 0), ("cpu s", 1), ("peak MiB", 2)):
        a, b = (statistics.median(r[index] for r in rows[x]) for x in "AB")
        print(f"  {label:9} A {a:7.3f}   B {b:7.3f}")
    ratios = [a[0] / b[0] for a, b in zip(rows["A"], rows["B"])]
    cpu = [a[1] / b[1] for a, b in zip(rows["A"], rows["B"])]
    print(f"  A/B wall: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}); A/B cpu: median "
          f"{statistics.median(cpu):.2f}")


def realistic(count, folder):
    """`count` notebooks: the engines of tests/engines.py (wrong ones with the reference's
    answers, correct ones in other styles), and the solved notebook with answers as students
    type them (tests/test_answers_as_written.py); cycled to reach `count`."""
    from engines import CORRECT, WRONG
    from notebooks import (REFERENCE_ANSWERS, load, main_cell, reference_main, with_answers,
                           with_main)

    template, base = load(BLANK), reference_main(SOLVED)
    notebooks = [with_answers(with_main(template, base + "\n" + case["code"]), REFERENCE_ANSWERS)
                 for case in WRONG.values()]
    for cells in CORRECT.values():
        cells = [cells] if isinstance(cells, str) else cells
        notebook = with_answers(with_main(template, cells[0]), REFERENCE_ANSWERS)
        position = notebook.cells.index(main_cell(notebook))
        for offset, source in enumerate(cells[1:], start=1):
            notebook.cells.insert(position + offset, nbformat.v4.new_code_cell(source))
        notebooks.append(notebook)
    typed = {"T_run": r"$\mathcal{O}(n \cdot b \cdot d^2)$", "fwd_a": r"\ln 2",
             "dz_dd": "0.25", "M_backward": "O(nbd) + O(nd^2)", "dz_dx_formula": r"\sinh{x}"}
    notebooks.append(with_answers(with_main(template, base), {**REFERENCE_ANSWERS, **typed}))
    notebooks.append(load(SOLVED))
    paths = []
    for k in range(count):
        path = folder / f"submission{k:03d}.ipynb"
        nbformat.write(notebooks[k % len(notebooks)], path)
        paths.append(path)
    return paths


def batch(count, workers):
    from grader.classroom import workers as grading

    with tempfile.TemporaryDirectory() as tmp:
        paths = realistic(count, Path(tmp))
        pool = [grading.Worker() for _ in range(workers)]
        try:
            with ThreadPoolExecutor(workers) as threads:   # warm: one submission each
                list(threads.map(lambda w: grading.grade_submission(ZIP, SOLVED, w), pool))
                queue = list(paths)
                start = time.perf_counter()

                def work(worker):
                    graded = []
                    while queue:
                        graded.append(grading.grade_submission(ZIP, queue.pop(), worker))
                    return graded
                done = sum(len(g) for g in threads.map(work, pool))
                seconds = time.perf_counter() - start
        finally:
            for worker in pool:
                worker.close()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"warm batch: {done} submissions in {seconds:.2f} s with {workers} workers: "
          f"{done / seconds:.1f} per second; peak memory of the largest process {peak:.0f} MiB")


def profile():
    from grader import grading
    from grader.sealed import sandbox as sandboxes

    events = []
    handle, start_child = sandboxes.Sandbox._handle, sandboxes.Sandbox._start

    def timed_handle(self, child, jobs, runs, message):
        events.append((time.perf_counter(), id(child), next(iter(message), "?")))
        return handle(self, child, jobs, runs, message)

    def timed_start(self, group, jobs, runs, timeout):
        before = time.perf_counter()
        child = start_child(self, group, jobs, runs, timeout)
        events.append((before, id(child), "start"))
        return child

    sandboxes.Sandbox._handle, sandboxes.Sandbox._start = timed_handle, timed_start
    sandbox = sandboxes.Sandbox()
    grading.preload().join()
    with tempfile.TemporaryDirectory() as tmp:
        warm = autograder_dir(Path(tmp) / "warm", SOLVED)
        with contextlib.redirect_stdout(io.StringIO()):
            grading.grade_directory(warm, sandbox)
        events.clear()
        folder = autograder_dir(Path(tmp) / "measured", SOLVED)
        profiler = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            profiler.runcall(grading.grade_directory, folder, sandbox)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    sandbox.close()
    print(f"one warm submission: {wall:.3f} s wall; the grading process used {cpu:.3f} s of CPU")
    steps = {"start": "fork by the zygote, confinement", "confined": "the cells sent",
             "loading": "cells loaded", "loaded": "first case sent and answered",
             "case": "a case's round trip (probe run in the child)"}
    spans = {}
    for child in {e[1] for e in events}:
        mine = sorted(e for e in events if e[1] == child)
        for (t1, _, k1), (t2, _, k2) in zip(mine, mine[1:]):
            spans.setdefault(k1, []).append(t2 - t1)
    print(f"  children: {sum(1 for e in events if e[2] == 'start')}")
    for key, label in steps.items():
        if key in spans:
            values = spans[key]
            print(f"  {label:46} {len(values):3d} x median {1000 * statistics.median(values):6.1f}"
                  f" ms, total {1000 * sum(values):6.1f} ms")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
    print("  the grading process's own time, by function (cProfile, tottime):")
    for line in text.getvalue().splitlines():
        if line.strip() and (line.lstrip()[:1].isdigit() or "ncalls" in line):
            print("   ", line.rstrip()[:110])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="what", required=True)
    commands.add_parser("single").add_argument("--runs", type=int, default=5)
    p = commands.add_parser("batch")
    p.add_argument("--submissions", type=int, default=40)
    p.add_argument("--workers", type=int, default=2)
    commands.add_parser("profile")
    args = parser.parse_args()
    for path in (ZIP, SOLVED, BLANK):
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `make` first")
    if args.what == "single":
        single(args.runs)
    elif args.what == "batch":
        batch(args.submissions, args.workers)
    else:
        profile()


if __name__ == "__main__":
    main()
