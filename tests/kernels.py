"""Student kernels: a real Jupyter kernel in which this package cannot be imported, and ways to
run the student notebook in it as a student would (Run All, in a folder that holds only the
notebook; in Jupyter, or with Otter's Colab detection on).

A kernel runs from a virtual environment of its own. The default one's site-packages points at
the project environment's packages (otter-grader, torch, ipykernel) through a .pth file, without
running that directory's .pth files, which hold this package's editable install. `hide` makes an
environment whose site-packages instead links every project package but the hidden ones (for a
kernel without matplotlib): packages installed into it land in a folder of its own. Its
PYTHONPATH is empty and its working directory is the notebook's folder (unless told otherwise).
The first cell of every run proves the package is absent.

tests/conftest.py turns `make_kernel` into session fixtures, so that the test files share them.
"""

import copy
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from notebooks import QUESTIONS

NOTEBOOK = "HW1.2_Backpropagation.ipynb"
KERNEL = "hw-student-only"
RESULTS = "CHECK-RESULTS:"
CPU = "KERNEL-CPU-SECONDS:"
FAILED = "❌ Test case failed\n"   # Otter's own first line of a failed case
NOISE = re.compile(r"Error at line|case\(env|AssertionError|Traceback")
KERNELS_AT_ONCE = 4   # kernels running at the same time, whoever starts them (two cores)
_kernel_slots = threading.BoundedSemaphore(KERNELS_AT_ONCE)

PROOF_CELL = """\
import importlib.util, sys
assert importlib.util.find_spec("grader") is None, "the course package is importable"
assert not any("backprop" in str(p) or "__editable__" in str(p) for p in sys.meta_path)
print("no course package:", sorted(p for p in __import__("os").listdir(".")))"""

COLAB_CELL = """\
# What Colab looks like to Otter: its shell class, and the frontend that holds the notebook.
import sys, types
_shell = get_ipython()
_shell.__class__ = type("Shell", (type(_shell),), {
    "__repr__": lambda self: "<google.colab._shell.Shell object>"})
_colab, _message = types.ModuleType("google.colab"), types.ModuleType("google.colab._message")
def _blocking_request(kind, request="", timeout_sec=5):
    assert kind == "get_ipynb"
    import json
    with open(%r, encoding="utf-8") as f:
        return {"ipynb": json.load(f)}
_message.blocking_request = _blocking_request
_colab._message = _message
sys.modules.update({"google": types.ModuleType("google"), "google.colab": _colab,
                    "google.colab._message": _message})
del _shell"""

# Runs every check again at the end of the notebook, and prints what each case said.
RESULTS_CELL = f"""\
import json
_results = {{}}
for _q in {QUESTIONS!r}:
    _file = grader.check(_q)
    _results[_q] = [[r.test_case.name, bool(r.passed), r.message]
                    for r in _file.test_case_results]
print({RESULTS!r} + json.dumps(_results))"""

# An observer, not a cell the student has: after each cell, if it was a `grader.check(...)` cell,
# keep what its check said, case by case, where it ran in the notebook (nothing runs twice).
RECORD_CELL = """\
def _hw_record_checks():
    import re
    found = {}
    def record(result):
        asked = re.match(r'\\s*grader\\.check\\("(\\w+)"\\)\\s*$', result.info.raw_cell or "")
        if not asked:
            return
        checked = result.result
        if result.error_in_exec is not None or not hasattr(checked, "test_case_results"):
            error = result.error_in_exec
            found[asked.group(1)] = f"{type(error).__name__}: {error}" if error else repr(checked)
        else:
            found[asked.group(1)] = [[r.test_case.name, bool(r.passed), r.message]
                                     for r in checked.test_case_results]
    get_ipython().events.register("post_run_cell", record)
    return found
_hw_recorded = _hw_record_checks()"""

RECORDED_CELL = f"""\
import json as _hw_json, resource as _hw_resource
_hw_usage = _hw_resource.getrusage(_hw_resource.RUSAGE_SELF)
print({CPU!r}, _hw_usage.ru_utime + _hw_usage.ru_stime)
print({RESULTS!r} + _hw_json.dumps(_hw_recorded))"""


def make_kernel(base, name=KERNEL, hide=(), env=None):
    """A kernel spec for a Python that has Otter and torch but not this package, in `base`;
    without the packages named in `hide` (top-level import names) when given. Returns a
    KernelSpecManager that knows it as `name`."""
    base = Path(base)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    project = Path(sysconfig.get_paths()["purelib"])
    if not hide:
        (site / "project_packages.pth").write_text(f"{project}\n")
    else:
        hidden = {h.lower().replace("-", "_") for h in hide}
        for entry in project.iterdir():
            stem = re.split(r"[-.]", entry.name, maxsplit=1)[0].lower()
            if (entry.suffix == ".pth" or entry.name.startswith("__editable__")
                    or stem in hidden or entry.name == "__pycache__"
                    or (site / entry.name).exists()):
                continue
            (site / entry.name).symlink_to(entry)
    spec = base / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "student", "language": "python",
        "env": {"PYTHONPATH": "", "MPLBACKEND": "Agg", **(env or {})}}))
    return kernel_specs(base)


def kernel_specs(base):
    """The KernelSpecManager of the kernel that make_kernel(base) made."""
    return KernelSpecManager(kernel_dirs=[str(Path(base) / "kernels")])


def kernel_python(specs, name=KERNEL):
    return Path(json.loads(Path(specs.get_kernel_spec(name).resource_dir, "kernel.json")
                           .read_text())["argv"][0])


def execute(notebook, folder, specs, colab=False, timeout=300, kernel=KERNEL, record=False,
            cwd=None, env=None):
    """Run `notebook` in `folder` with the student kernel; return the executed notebook.

    In Jupyter the notebook file is saved in the folder first (as Jupyter would); in Colab the
    folder stays empty and the fake frontend serves the notebook. With `record`, what each
    `grader.check` cell said is kept where it ran (RECORD_CELL); else every check runs again at
    the end (RESULTS_CELL). `cwd` starts the kernel elsewhere, `env` adds to its environment."""
    notebook = copy.deepcopy(notebook)
    folder.mkdir(parents=True, exist_ok=True)
    if colab:
        served = folder.parent / f"{folder.name}-frontend.ipynb"
        nbformat.write(notebook, served)
    else:
        nbformat.write(notebook, folder / NOTEBOOK)
    extra = [PROOF_CELL] + ([COLAB_CELL % str(served)] if colab else []) \
        + ([RECORD_CELL] if record else [])
    notebook.cells[:0] = [nbformat.v4.new_code_cell(s) for s in extra]
    notebook.cells.append(nbformat.v4.new_code_cell(RECORDED_CELL if record else RESULTS_CELL))
    Path(cwd or folder).mkdir(parents=True, exist_ok=True)
    # IPC, not TCP: a kernel that picks its TCP ports while others start may find one taken
    # and die before the client's first message, which then waits forever.
    with tempfile.TemporaryDirectory(prefix="kernel-") as sockets, _kernel_slots:
        manager = KernelManager(kernel_name=kernel, kernel_spec_manager=specs, transport="ipc",
                                ip=os.path.join(sockets, "ipc"))
        client = NotebookClient(notebook, km=manager, timeout=timeout, allow_errors=True,
                                resources={"metadata": {"path": str(cwd or folder)}})
        client.execute(**({"env": {**os.environ, **env}} if env else {}))
    return notebook


def text(cell):
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"ERROR {output.ename}: {output.evalue}")
    return "".join(parts)


def errors(notebook):
    return [(c.source[:60], text(c)) for c in notebook.cells if c.cell_type == "code"
            and any(o.output_type == "error" for o in c.get("outputs", []))]


def check_outputs(notebook):
    return {c.source.split('"')[1]: text(c) for c in notebook.cells
            if c.cell_type == "code" and c.source.startswith('grader.check("')}


def check_results(notebook):
    found = text(notebook.cells[-1])
    assert RESULTS in found, found[-3000:]
    return json.loads(found.split(RESULTS, 1)[1])


def kernel_cpu(notebook):
    """The CPU seconds the kernel used, as its last cell (RECORDED_CELL) said."""
    found = re.search(rf"{CPU} ([\d.]+)", text(notebook.cells[-1]))
    return float(found.group(1)) if found else 0.0
