"""Unit tests of grader.submission.intake: safe unzipping, choosing the notebook, reading it.

Everything runs on small files written into tmp_path; nothing is graded.
"""

import io
import json
import os
import struct
import zipfile

import nbformat
import pytest

from grader.submission import intake
from grader.submission.intake import SubmissionError

NOTEBOOK = "HW1.2_Backpropagation.ipynb"
SYMLINK_ATTR = (0o120777 << 16)


def make_zip(path, entries, compression=zipfile.ZIP_DEFLATED):
    """Write a zip of `entries`: (name or ZipInfo, bytes or str)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def notebook_text(*sources, outputs=False):
    cells = []
    for source in sources:
        cell = nbformat.v4.new_code_cell(source)
        if outputs:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 100)]
            cell.execution_count = 7
        cells.append(cell)
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


def all_files(root):
    """Every path (file, directory or link) below `root`, relative to it."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def disk_bytes(root):
    return sum(os.lstat(os.path.join(folder, f)).st_size
               for folder, _, files in os.walk(root) for f in files)


@pytest.fixture
def box(tmp_path):
    """(archive path, target folder): the target sits two levels below tmp_path, so that
    escaping paths land in tmp_path where the test can see them."""
    (tmp_path / "box").mkdir()
    return tmp_path / "box" / "upload.zip", tmp_path / "box" / "out"


# --- unzip ------------------------------------------------------------------------------------

def test_unzip_extracts_ordinary_files(box):
    archive, target = box
    make_zip(archive, [("a.txt", b"alpha"), ("sub/dir/b.py", b"x = 1\n")])
    intake.unzip(archive, target)
    assert (target / "a.txt").read_bytes() == b"alpha"
    assert (target / "sub" / "dir" / "b.py").read_bytes() == b"x = 1\n"


@pytest.mark.parametrize("name", ["../escape.txt", "a/../../escape.txt", "../../escape.txt",
                                  "sub/../../../escape.txt"])
def test_unzip_skips_relative_paths_that_leave_the_folder(box, tmp_path, name):
    archive, target = box
    make_zip(archive, [(name, b"evil"), ("kept.txt", b"fine")])
    before = all_files(tmp_path)
    intake.unzip(archive, target)
    assert (target / "kept.txt").read_bytes() == b"fine"
    new = all_files(tmp_path) - before
    assert new == {"box/out", "box/out/kept.txt"}, new


def test_unzip_skips_absolute_paths(box, tmp_path):
    archive, target = box
    outside = tmp_path / "outside"
    outside.mkdir()
    absolute = str(outside / "abs.txt")
    assert absolute.startswith("/")
    make_zip(archive, [(absolute, b"evil"), ("kept.txt", b"fine")])
    with zipfile.ZipFile(archive) as zf:  # the name really is stored absolute
        assert zf.namelist()[0] == absolute
    intake.unzip(archive, target)
    assert not (outside / "abs.txt").exists()
    assert list(outside.iterdir()) == []
    assert all_files(target) == {"kept.txt"}


def test_unzip_never_creates_a_symlink_leaving_the_folder(box, tmp_path):
    archive, target = box
    outside = tmp_path / "outside"
    outside.mkdir()
    link = zipfile.ZipInfo("link")
    link.external_attr = SYMLINK_ATTR
    escape = zipfile.ZipInfo("escape")
    escape.external_attr = SYMLINK_ATTR
    make_zip(archive, [(link, str(outside)),                      # a link to a folder outside
                       ("link/pwned.txt", b"written through the link"),
                       (escape, "../../outside/pwned2.txt"),      # a relative link
                       ("kept.txt", b"fine")], zipfile.ZIP_STORED)
    with zipfile.ZipFile(archive) as zf:
        assert zf.getinfo("link").external_attr >> 16 == 0o120777
    intake.unzip(archive, target)
    assert list(outside.iterdir()) == []
    for path in [target / name for name in all_files(target)]:
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(target.resolve())
    # what was written for the link entries is at most a regular file holding the target text
    for name, text in (("link", str(outside)), ("escape", "../../outside/pwned2.txt")):
        if (target / name).exists():
            assert (target / name).is_file()
            assert (target / name).read_text() == text
    assert (target / "kept.txt").read_bytes() == b"fine"


def test_unzip_refuses_an_archive_whose_stated_size_is_over_the_limit(box):
    archive, target = box
    limit = 2 * 2**20
    make_zip(archive, [("a.bin", b"\0" * (limit // 2)), ("b.bin", b"\0" * (limit // 2 + 1))])
    with pytest.raises(SubmissionError, match=r"upload\.zip expands to more than 2 MB"):
        intake.unzip(archive, target, max_bytes=limit)
    assert disk_bytes(target.parent) == archive.stat().st_size  # nothing was extracted


def test_unzip_without_limit_extracts_large_archives(box):
    archive, target = box
    make_zip(archive, [("big.bin", b"\0" * (3 * 2**20))])
    intake.unzip(archive, target, max_bytes=None)
    assert (target / "big.bin").stat().st_size == 3 * 2**20


def _lie_about_size(data, stated):
    """Patch every local and central header of a one-entry zip to state `stated` bytes
    uncompressed (the compressed size and the content stay real)."""
    data = bytearray(data)
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    assert local >= 0 and central > local
    struct.pack_into("<I", data, local + 22, stated)
    struct.pack_into("<I", data, central + 24, stated)
    return bytes(data)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_unzip_writes_no_more_than_the_limit_when_stated_sizes_lie(box, compression):
    archive, target = box
    real, stated, limit = 4 * 2**20, 100, 1000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        zf.writestr("bomb.bin", b"\0" * real)
    archive.write_bytes(_lie_about_size(buffer.getvalue(), stated))
    with zipfile.ZipFile(archive) as zf:  # the lie is what zipfile believes
        assert zf.getinfo("bomb.bin").file_size == stated
    try:
        intake.unzip(archive, target, max_bytes=limit)
    except SubmissionError:
        pass  # refusing is fine too
    assert disk_bytes(target.parent) - archive.stat().st_size <= limit


def test_copy_stops_at_its_budget():
    out = io.BytesIO()
    with pytest.raises(SubmissionError, match="expands to more than"):
        intake._copy(io.BytesIO(b"x" * 5000), out, 1000)
    assert len(out.getvalue()) <= 1000
    out = io.BytesIO()
    assert intake._copy(io.BytesIO(b"x" * 5000), out, 5000) == 5000
    assert out.getvalue() == b"x" * 5000


def test_unzip_skips_a_file_name_too_long_and_extracts_the_rest(box):
    archive, target = box
    long_name = "n" * 300 + ".txt"
    make_zip(archive, [("first.txt", b"1"), (long_name, b"too long"),
                       ("d" * 300 + "/inner.txt", b"too long too"), ("last.txt", b"2")])
    intake.unzip(archive, target)
    assert all_files(target) == {"first.txt", "last.txt"}
    assert (target / "last.txt").read_bytes() == b"2"


@pytest.mark.parametrize("content", [
    b"PK\x03\x04 this is not really a zip",
    b"",
    b"just text",
])
def test_unzip_reports_a_corrupt_zip(box, content):
    archive, target = box
    archive.write_bytes(content)
    with pytest.raises(SubmissionError, match=r"^upload\.zip is not a valid zip file\.$"):
        intake.unzip(archive, target)


def test_unzip_reports_a_truncated_zip(box):
    archive, target = box
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.txt", "x" * 1000)
    archive.write_bytes(buffer.getvalue()[:-30])  # the end of central directory is cut
    with pytest.raises(SubmissionError, match="is not a valid zip file"):
        intake.unzip(archive, target)


def test_unzip_does_not_unpack_nested_zips(box):
    archive, target = box
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(NOTEBOOK, notebook_text("x = 1"))
    make_zip(archive, [("inner.zip", inner.getvalue())])
    intake.unzip(archive, target)
    assert all_files(target) == {"inner.zip"}
    assert (target / "inner.zip").read_bytes() == inner.getvalue()


# --- prepare ----------------------------------------------------------------------------------

def test_prepare_reads_the_notebook_without_its_outputs(tmp_path):
    (tmp_path / NOTEBOOK).write_text(notebook_text("x = 1", outputs=True))
    notebook, notes, flags = intake.prepare(tmp_path, NOTEBOOK)
    assert flags == [] and notes == []
    assert [c.source for c in notebook.cells] == ["x = 1"]
    assert notebook.cells[0].outputs == []


def test_prepare_reads_a_notebook_inside_a_zip(tmp_path):
    make_zip(tmp_path / "upload.zip", [(NOTEBOOK, notebook_text("x = 1")),
                                       (".OTTER_LOG", b"pickle"), ("a/.OTTER_LOG", b"pickle")])
    notebook, notes, flags = intake.prepare(tmp_path, NOTEBOOK)
    assert "Unpacked upload.zip." in notes
    assert [c.source for c in notebook.cells] == ["x = 1"]


def test_prepare_grades_the_notebook_with_the_homework_name_among_several(tmp_path):
    (tmp_path / NOTEBOOK).write_text(notebook_text("chosen = 1"))
    (tmp_path / "scratch.ipynb").write_text(notebook_text("other = 2"))
    notebook, notes, flags = intake.prepare(tmp_path, NOTEBOOK)
    assert [c.source for c in notebook.cells] == ["chosen = 1"]
    assert flags == [("renamed", f"2 notebooks; graded {NOTEBOOK}")]
    assert f"Graded {NOTEBOOK}; ignored the other notebooks." in notes


def test_prepare_refuses_several_notebooks_none_with_the_homework_name(tmp_path):
    (tmp_path / "a.ipynb").write_text(notebook_text("a = 1"))
    (tmp_path / "b.ipynb").write_text(notebook_text("b = 1"))
    with pytest.raises(SubmissionError) as error:
        intake.prepare(tmp_path, NOTEBOOK)
    message = str(error.value)
    assert "2 notebooks" in message and "a.ipynb" in message and "b.ipynb" in message
    assert NOTEBOOK in message


def test_prepare_grades_a_renamed_single_notebook(tmp_path):
    (tmp_path / "my homework (1).ipynb").write_text(notebook_text("mine = 1"))
    notebook, notes, flags = intake.prepare(tmp_path, NOTEBOOK)
    assert [c.source for c in notebook.cells] == ["mine = 1"]
    assert flags == [("renamed", "the notebook was named my homework (1).ipynb")]
    assert "The notebook was named my homework (1).ipynb." in notes


def test_prepare_ignores_checkpoints_and_macos_folders(tmp_path):
    (tmp_path / NOTEBOOK).write_text(notebook_text("real = 1"))
    for folder in (".ipynb_checkpoints", "__MACOSX"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "copy.ipynb").write_text(notebook_text("stale = 1"))
    notebook, notes, flags = intake.prepare(tmp_path, NOTEBOOK)
    assert flags == []
    assert [c.source for c in notebook.cells] == ["real = 1"]


def test_prepare_without_a_notebook_names_what_the_submission_holds(tmp_path):
    (tmp_path / "engine.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SubmissionError) as error:
        intake.prepare(tmp_path, NOTEBOOK)
    message = str(error.value)
    assert message.startswith("No notebook (.ipynb file) was found in the submission")
    assert "(it holds: engine.py, notes.txt)." in message
    assert message.endswith(f"Submit {NOTEBOOK}.")


def test_prepare_of_an_empty_submission(tmp_path):
    with pytest.raises(SubmissionError, match=r"found in the submission\. Submit "):
        intake.prepare(tmp_path, NOTEBOOK)


def test_prepare_does_not_unpack_a_zip_inside_the_zip(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(NOTEBOOK, notebook_text("x = 1"))
    make_zip(tmp_path / "outer.zip", [("inner.zip", inner.getvalue())])
    with pytest.raises(SubmissionError, match=r"it holds: inner\.zip\)"):
        intake.prepare(tmp_path, NOTEBOOK)
    assert not list(tmp_path.rglob("*.ipynb"))


def test_prepare_leaves_the_submission_as_it_was(tmp_path):
    """Intake only reads: what a submission holds beside the notebook is never moved, run or
    written over (grading runs none of it)."""
    (tmp_path / NOTEBOOK).write_text(notebook_text("x = 1"))
    (tmp_path / "helpers.py").write_text("import os\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    intake.prepare(tmp_path, NOTEBOOK)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# --- read_notebook ----------------------------------------------------------------------------

def _read(tmp_path, content, name="nb.ipynb"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return intake.read_notebook(path)


@pytest.mark.parametrize("content", ["{not json", "", "\xff\xfe", '{"cells": [}'])
def test_read_notebook_refuses_invalid_json(tmp_path, content):
    with pytest.raises(SubmissionError, match=r"^nb\.ipynb is not a valid notebook file: it is "
                                              r"not JSON \(.*\)\. Download the notebook again"):
        _read(tmp_path, content)


@pytest.mark.parametrize("content", ["[1, 2]", "{}", '{"cells": 3}', '"text"', "42",
                                     '{"worksheets": {}}'])
def test_read_notebook_refuses_json_that_is_not_a_notebook(tmp_path, content):
    with pytest.raises(SubmissionError,
                       match=r"^nb\.ipynb is JSON but not a Jupyter notebook \(it has no cells\)"):
        _read(tmp_path, content)


@pytest.mark.parametrize("content", ['{"nbformat": 4, "worksheets": []}',
                                     '{"nbformat": 4, "worksheets": [], "cells": {}}'])
def test_read_notebook_refuses_a_version_4_notebook_without_a_list_of_cells(tmp_path, content):
    with pytest.raises(SubmissionError, match=r"^nb\.ipynb"):
        _read(tmp_path, content)


@pytest.mark.parametrize("content", [
    "[" * 100_000 + "]" * 100_000,
    '{"cells": [], "metadata": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
])
def test_read_notebook_refuses_deeply_nested_json(tmp_path, content):
    with pytest.raises(SubmissionError, match="is not a valid notebook file"):
        _read(tmp_path, content)


def test_read_notebook_reads_nesting_that_only_nbformat_cannot_read(tmp_path):
    """Deeply nested metadata, which nbformat's validator cannot take, is still graded: a
    version 4 notebook is read as the JSON it is."""
    text = notebook_text("x = 1").replace('"metadata": {}',
                                          '"metadata": {"deep": ' + "[" * 900 + "]" * 900 + "}",
                                          1)
    assert [c.source for c in _read(tmp_path, text).cells] == ["x = 1"]


def test_read_notebook_refuses_a_notebook_over_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_NOTEBOOK_BYTES", 2**20)
    text = notebook_text("x = " + "1" * (3 * 2**20))
    with pytest.raises(SubmissionError, match=r"^The notebook nb\.ipynb is 3 MB, more than the "
                                              r"1 MB that can be graded"):
        _read(tmp_path, text)


def test_read_notebook_converts_nbformat_3(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [{
        "metadata": {}, "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
            {"cell_type": "code", "collapsed": False, "input": ["x = 1\n", "y = x + 1"],
             "language": "python", "metadata": {}, "prompt_number": 3,
             "outputs": [{"output_type": "pyout", "prompt_number": 3, "metadata": {},
                          "text": ["2"]}]}]}]}
    notebook = _read(tmp_path, json.dumps(v3))
    assert notebook.nbformat == 4
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code"]
    assert notebook.cells[1].source == "x = 1\ny = x + 1"
    assert notebook.cells[1].outputs == []
    assert notebook.cells[1].execution_count is None


def test_read_notebook_strips_outputs(tmp_path):
    notebook = _read(tmp_path, notebook_text("a = 1", "b = 2", outputs=True))
    assert [c.source for c in notebook.cells] == ["a = 1", "b = 2"]
    assert all(c.outputs == [] and c.execution_count is None for c in notebook.cells)


def test_read_notebook_keeps_non_ascii_source(tmp_path):
    raw = notebook_text("s = 'X'").encode().replace(b"X", b"\xc3\xa9")
    notebook = _read(tmp_path, raw)
    assert notebook.cells[0].source == "s = '\u00e9'"
