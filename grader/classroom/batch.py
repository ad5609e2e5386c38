"""Grade a class: many submissions in parallel, resumable, into a CSV and per-student feedback.

Inputs are notebooks, submission zips, folders of them, or Gradescope "Export submissions" zips
or folders (a submission_<id>/ folder per submission and a submission_metadata.yml naming the
students). Each submission gets out/<key>/ with results.json, sealed.json, feedback.txt and
output.txt; `graded-with` is written last, so a submission counts as done only once everything
is saved. A run that is interrupted (Ctrl-C, SIGTERM) keeps what it finished; running it again
grades only the rest, and regrades a submission whose file or zip has changed.
"""

import csv
import functools
import hashlib
import json
import os
import signal
import sys
import threading
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader.feedback import tables
from grader.classroom import workers as runner
from grader.context import OUTPUT_NAME, REPORT_NAME, RESULTS_NAME
from grader.results import Report
from grader.submission import intake

METADATA = "submission_metadata.yml"
SUBMISSION_SUFFIXES = (".ipynb", ".zip")
DONE = "graded-with"


@dataclass
class Entry:
    key: str                 # folder name under the output directory
    path: Path               # a notebook, a zip, or a folder of uploaded files
    student: dict = field(default_factory=dict)   # name, sid, email when known


def find_submissions(inputs, unpack_dir):
    """The submissions found in `inputs`; Gradescope export zips are unpacked in `unpack_dir`."""
    entries = []
    for item in map(Path, inputs):
        if item.is_file() and item.suffix == ".zip" and _is_export_zip(item):
            target = Path(unpack_dir) / item.stem
            if not target.exists():
                intake.unzip(item, target, max_bytes=None)
            entries += _export_entries(target)
        elif item.is_dir() and list(item.glob(METADATA)) + list(item.glob(f"*/{METADATA}")):
            entries += _export_entries(item)
        elif item.is_dir():
            entries += [Entry(p.stem if p.is_file() else p.name, p) for p in sorted(item.iterdir())
                        if p.is_dir() or p.suffix in SUBMISSION_SUFFIXES]
        else:
            entries.append(Entry(item.stem, item))
    seen = {}
    for entry in entries:  # keys must be unique folder names
        count = seen[entry.key] = seen.get(entry.key, 0) + 1
        entry.key = entry.key if count == 1 else f"{entry.key}-{count}"
    return entries


def _is_export_zip(path):
    try:
        with zipfile.ZipFile(path) as zf:
            return any(Path(n).name == METADATA for n in zf.namelist())
    except zipfile.BadZipFile:
        return False


def _export_entries(folder):
    metadata_path = next(iter(list(folder.glob(METADATA)) + list(folder.glob(f"*/{METADATA}"))))
    metadata = yaml.safe_load(metadata_path.read_text()) or {}
    entries = []
    for key, info in sorted(metadata.items()):
        path = metadata_path.parent / key
        if not path.is_dir():
            continue
        people = (info or {}).get(":submitters") or []
        student = {field: "; ".join(str(p.get(f":{field}", "")) for p in people)
                   for field in ("name", "sid", "email")}
        entries.append(Entry(key, path, student))
    return entries


def fingerprint(zip_path, path):
    """What a submission was graded with: the zip and the submission's files."""
    files = sorted(p for p in Path(path).rglob("*") if p.is_file()) if Path(path).is_dir() \
        else [Path(path)]
    parts = [_digest(Path(zip_path))] + [f"{f.name}:{_digest(f)}" for f in files]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _digest(path):
    stat = path.stat()
    return _file_digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _file_digest(path, size, mtime_ns):
    """A file's sha256, read once per run while the file is unchanged (up to 100 MB each)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_done(entry, out_dir, zip_path):
    marker = Path(out_dir) / entry.key / DONE
    return marker.exists() and marker.read_text() == fingerprint(zip_path, entry.path)


def grade_all(entries, zip_path, out_dir, workers, progress=None):
    """Grade what is not done yet, `workers` at a time; return the keys graded in this run.
    Stops cleanly on Ctrl-C or SIGTERM (what finished is kept) and raises KeyboardInterrupt."""
    out_dir = Path(out_dir)
    todo = [e for e in entries if not is_done(e, out_dir, zip_path)]
    progress = progress or Progress(len(entries), len(entries) - len(todo))
    graded, mine, started = [], threading.local(), []

    def grade_entry(entry):
        worker = getattr(mine, "worker", None)
        if worker is None or not worker.alive:
            worker = mine.worker = runner.Worker()
            started.append(worker)
        return runner.grade_submission(zip_path, entry.path, worker)

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
            pending = {pool.submit(grade_entry, entry): entry for entry in todo}
            try:
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        entry = pending.pop(future)
                        result = future.result()
                        _save(entry, result, out_dir, zip_path)
                        graded.append(entry.key)
                        progress.update(entry.key, result)
            except (KeyboardInterrupt, runner.Stopped):
                for future in pending:
                    future.cancel()
                runner.stop_all()
                raise KeyboardInterrupt() from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        for worker in started:
            worker.close()
        progress.close()
    return graded


def _interrupt(signum, frame):
    raise KeyboardInterrupt()


def _save(entry, graded, out_dir, zip_path):
    folder = out_dir / entry.key
    (folder / DONE).unlink(missing_ok=True)
    runner.write(graded, folder)
    (folder / "student.json").write_text(json.dumps(entry.student))
    (folder / DONE).write_text(fingerprint(zip_path, entry.path))


def write_csv(entries, out_dir, zip_path, path):
    """One row per submission: who, each question's score, the totals, the status ("graded",
    "graded, flagged", "not graded: <reason>" or "not graded yet") and what is flagged for
    course staff (see grader.feedback.tables.flags; the reason a submission was not graded is in
    its status)."""
    rows, questions = [], []
    for entry in entries:
        if not is_done(entry, out_dir, zip_path):
            rows.append({"submission": entry.key, **entry.student, "status": "not graded yet",
                         "flags": "not graded yet: run the same grade command again"})
            continue
        report = load(Path(out_dir) / entry.key).report
        scores = report.scores()
        questions += [q for q in scores if q not in questions]
        regular, possible, extra = report.totals()
        rows.append({"submission": entry.key, **entry.student,
                     **{q: score for q, (score, _) in scores.items()},
                     "total": regular, "possible": possible, "extra_credit": extra,
                     "status": tables.status(report), "flags": tables.flag_text(report, skip=("not graded",))})
    columns = ["submission", "name", "sid", "email", *questions, "total", "possible",
               "extra_credit", "status", "flags"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def load(folder):
    """A Graded read back from a submission's output folder."""
    folder = Path(folder)
    return runner.Graded(folder, json.loads((folder / RESULTS_NAME).read_text()),
                        Report.load(folder / REPORT_NAME), (folder / OUTPUT_NAME).read_text())


class Progress:
    """A one-line progress bar on stderr (a line per submission when not a terminal)."""

    def __init__(self, total, done):
        self.total, self.done, self.start, self.fresh = total, done, time.monotonic(), 0
        self.tty = sys.stderr.isatty()
        self._draw("")

    def update(self, key, graded):
        self.done, self.fresh = self.done + 1, self.fresh + 1
        self._draw(f"{key}: {tables.total_text(graded.report)}")

    def _draw(self, last):
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self.start
        left = (self.total - self.done) * elapsed / self.fresh if self.fresh else 0
        line = (f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total}"
                + (f"  {last}" if last else "") + (f"  about {left:.0f} s left" if left else ""))
        if self.tty:
            sys.stderr.write("\r" + line[:120].ljust(120))
        elif last or not self.done:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self):
        if self.tty:
            sys.stderr.write("\n")
