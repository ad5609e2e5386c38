"""Intake: turn whatever a student uploaded into one clean notebook, or say what is wrong.

It unpacks zip files safely (no path leaves the folder, a size cap that holds even when a zip
lies about its sizes), picks the notebook (the one with the homework's name if there are
several), reads it defensively (size, JSON, nbformat 3) and strips its outputs. Nothing a
submission holds besides that notebook is ever run or read. Anything that cannot be graded
raises SubmissionError with a message for the student.
"""

import json
import zipfile
from pathlib import Path

from grader.verdicts import Flag

MAX_NOTEBOOK_BYTES = 100 * 2**20
MAX_UNZIPPED_BYTES = 500 * 2**20
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "tests"}


class SubmissionError(Exception):
    """The submission cannot be graded; the message says why, for the student."""


def prepare(directory, notebook_name):
    """The notebook to grade in `directory` (nbformat 4), messages saying how it was found,
    for the student, and flags for staff ((Flag, detail))."""
    directory = Path(directory)
    notes, flags = [], []
    archives = set(directory.glob("*.zip"))
    for archive in sorted(archives):
        unzip(archive, directory / f"{archive.stem}_unzipped")
        notes.append(f"Unpacked {archive.name}.")
    found = sorted(p for p in directory.rglob("*.ipynb")
                   if not IGNORED_PARTS & set(p.relative_to(directory).parts[:-1]))
    if not found:
        others = ", ".join(sorted(p.name for p in directory.rglob("*")
                                  if p.is_file() and p not in archives)[:10])
        raise SubmissionError("No notebook (.ipynb file) was found in the submission"
                              + (f" (it holds: {others})." if others else ".")
                              + f" Submit {notebook_name}.")
    if len(found) > 1:
        named = [p for p in found if p.name == notebook_name]
        if len(named) != 1:
            raise SubmissionError(
                f"The submission holds {len(found)} notebooks ("
                + ", ".join(str(p.relative_to(directory)) for p in found)
                + f"); submit exactly one, {notebook_name}.")
        notes.append(f"Graded {named[0].relative_to(directory)}; ignored the other notebooks.")
        flags.append((Flag.RENAMED, f"{len(found)} notebooks; graded {named[0].name}"))
        found = named
    chosen = found[0]
    notebook = read_notebook(chosen)
    if chosen.name != notebook_name:
        notes.append(f"The notebook was named {chosen.name}.")
        flags.append((Flag.RENAMED, f"the notebook was named {chosen.name}"))
    return notebook, notes, flags


class Node(dict):
    """A notebook's JSON objects, read as nbformat reads them: keys are attributes too."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def read_notebook(path):
    """Read a notebook file as nbformat 4 without outputs, or raise SubmissionError. A
    version 4 notebook is read as plain JSON (Node objects); only an older one goes through
    nbformat, to be converted."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(
            f"The notebook {path.name} is {size / 2**20:.0f} MB, more than the "
            f"{MAX_NOTEBOOK_BYTES // 2**20} MB that can be graded. Clear all outputs "
            "(Edit > Clear all outputs), save, and submit again.")
    text = path.read_bytes()
    try:
        notebook = json.loads(text, object_hook=Node)
    except (ValueError, RecursionError) as error:
        raise SubmissionError(
            f"{path.name} is not a valid notebook file: it is not JSON ({error}). Download the "
            "notebook again from Jupyter or Colab (File > Download .ipynb) and submit that file.")
    if not isinstance(notebook, dict) or \
            not isinstance(notebook.get("cells", notebook.get("worksheets")), list):
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (it has no cells).")
    if notebook.get("nbformat") != 4 or not isinstance(notebook.get("cells"), list) \
            or not all(isinstance(c, dict) for c in notebook["cells"]):
        try:
            import nbformat

            notebook = nbformat.reads(text.decode("utf-8", "replace"), as_version=4)
        except Exception as error:
            raise SubmissionError(f"{path.name} could not be read as a notebook ({error}).")
    for cell in notebook["cells"]:
        if isinstance(cell.get("source"), list):  # as nbformat reads it: one string
            cell["source"] = "".join(s for s in cell["source"] if isinstance(s, str))
        if cell.get("cell_type") == "code":  # outputs are never graded; some hold 100s of MB
            cell["outputs"], cell["execution_count"] = [], None
    return notebook


def unzip(archive, target, max_bytes=MAX_UNZIPPED_BYTES):
    """Extract a zip, skipping paths that would leave `target`, refusing archives that expand
    to more than `max_bytes` (None: no limit)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if max_bytes is not None and sum(m.file_size for m in members) > max_bytes:
                raise SubmissionError(f"{archive.name} expands to more than "
                                      f"{max_bytes // 2**20} MB.")
            written = 0
            for member in members:
                try:
                    destination = (target / member.filename).resolve()
                    if not destination.is_relative_to(target.resolve()):
                        continue  # a path that would leave the folder
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as source, open(destination, "wb") as out:
                        written += _copy(source, out, None if max_bytes is None
                                         else max_bytes - written)
                except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError):
                    continue  # a name too long, a broken or encrypted entry: skip that file
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        raise SubmissionError(f"{archive.name} is not a valid zip file.")


def _copy(source, out, budget):
    """Copy at most `budget` bytes (the zip's stated sizes may lie); return what was written."""
    written = 0
    while True:
        block = source.read(1 << 20)
        if not block:
            return written
        written += len(block)
        if budget is not None and written > budget:
            raise SubmissionError("The zip file expands to more than can be graded.")
        out.write(block)
