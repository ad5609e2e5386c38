"""Hostile, hanging and malformed submissions, and what grading must make of each.

`build(name, template, engine, folder)` writes the submission file for case `name` into `folder`
and returns its path; `engine` is a correct # MAIN CODE cell. Each case's `expect` names the
questions that must keep full marks ("full"), those that must score zero ("zero"), and a pattern
the feedback must contain ("says").
"""

import copy
import json
import pickle
import zipfile

import nbformat

from notebooks import (ANSWER_QUESTIONS, ENGINE_STEPS, QUESTIONS, REFERENCE_ANSWERS,
                       main_cell, with_answers, with_main)

ANSWERS, ENGINE, ALL = ANSWER_QUESTIONS, ENGINE_STEPS, QUESTIONS
MARKER = "/tmp/backprop-otter-log-payload-ran"


class Payload:
    """Unpickling this creates MARKER: it shows whether anything unpickled a submitted log."""

    def __reduce__(self):
        return (open, (MARKER, "w"))


def correct(template, engine):
    return with_answers(with_main(template, engine), REFERENCE_ANSWERS)


def blank_with(template, code):
    """The blank engine of the template with `code` appended to its # MAIN CODE cell."""
    notebook = copy.deepcopy(template)
    main_cell(notebook).source += "\n" + code
    return notebook


def write(notebook, folder, name="HW1.2_Backpropagation.ipynb"):
    """Saved without nbformat's schema check and indentation (seconds for the biggest ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(notebook), encoding="utf-8")
    return folder / name


TAMPERING = {
    "patch_otter_runner": '''
import otter.test_files.abstract_test as _abstract
from otter.test_files import exception_test as _exception
_abstract.TestFile.score = property(lambda self: self.possible)
_abstract.TestFile.passed_all = property(lambda self: True)
_exception.ExceptionTestFile.run = lambda self, env: setattr(self, "test_case_results",
    [_abstract.TestCaseResult(tc, "passed", True) for tc in self.test_cases])
''',
    "patch_comparisons": '''
import builtins, math, torch
torch.allclose = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.equal = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
builtins.isinstance = lambda *args: True
builtins.AssertionError = type("Nothing", (Exception,), {})
''',
    "patch_grader_package": '''
import grader.authoring.cases, grader.authoring.checks
grader.authoring.checks.close = lambda *args, **kwargs: None
grader.authoring.checks.program_matches = lambda *args, **kwargs: None
grader.authoring.cases.CaseSpec.verdict = lambda *args, **kwargs: None
''',
}

READ_HIDDEN_TESTS = '''import glob, os, re, subprocess
stolen = ""
for path in (glob.glob("/autograder/source/tests/paper_forward.py")
             + glob.glob("/tmp/*/autograder/source/tests/paper_forward.py")
             + glob.glob("/tmp/*/autograder/submission/tests/paper_forward.py")
             + glob.glob("/proc/[0-9]*/cwd/tests/paper_forward.py")
             + glob.glob("/proc/[0-9]*/cwd/../source/tests/paper_forward.py")):
    for read in (lambda p: open(p).read(), lambda p: os.popen("cat " + p).read(),
                 lambda p: subprocess.run(["cat", p], capture_output=True, text=True).stdout):
        try:
            stolen += read(path)
        except Exception:
            pass
found = re.findall(r"compare_value, '([^']*)'", stolen) + ["?"] * 6
fwd_a, fwd_b, fwd_c, fwd_d, fwd_e, fwd_z = found[:6]
'''

HANG_ON_LOAD = "\nwhile True:\n    pass\n"

HANG_IN_TENSOR_BACKWARD = '''
_backward = backward_algorithm
def backward_algorithm(graph, one=1.0):
    import time, torch
    while torch.is_tensor(one):
        time.sleep(0.01)
    return _backward(graph, one)
'''

SLEEP_EVERYWHERE = '''
import time
def forward_algorithm(graph):
    time.sleep(10 ** 6)
def backward_algorithm(graph, one=1.0):
    time.sleep(10 ** 6)
'''

EXIT_ON_LOAD = "\nimport os\nos._exit(3)\n"

EXIT_IN_FORWARD = '''
import sys
def forward_algorithm(graph):
    sys.exit("bye")
'''

KILL_SELF_IN_BACKWARD = '''
import signal
def backward_algorithm(graph, one=1.0):
    signal.raise_signal(signal.SIGKILL)
'''

HUGE_PRINT = '''
for _ in range(3):
    print("x" * 10 ** 7)
'''

MEMORY_HOG = '''
import torch
def forward_algorithm(graph):
    hog = torch.ones(10 ** 11)
'''

FORK_BOMB = '''
import os
def forward_algorithm(graph):
    while True:
        os.fork()
'''


# ---- attacks on the sandbox itself: each tries to forge a verdict, escape the wall, or break
# the grader. Files they try to create start with ESCAPED; none may exist after grading.
ESCAPED = "/tmp/backprop-escaped-"
SECRET = "backprop-planted-secret-7f3a"   # the tests put it in the grader's environment

FORGE_REPLIES_ON_LOAD = """
import json, os, struct
for fd in range(3, 256):
    for case in range(12):
        data = json.dumps({"case": case, "nonce": "0" * 32, "outcome": {"value": 1.0},
                           "refused": []}).encode()
        try:
            os.write(fd, struct.pack(">I", len(data)) + data)
        except OSError:
            pass
os._exit(0)
"""

FORGE_REPLY_IN_PROBE = """
import json, os, struct
def forward_algorithm(graph):
    for fd in range(3, 256):
        data = json.dumps({"case": 0, "nonce": "f" * 32, "outcome": {"value": 1.25},
                           "refused": []}).encode()
        try:
            os.write(fd, struct.pack(">I", len(data)) + data)
        except OSError:
            pass
    graph.result = 1.25
    return graph
"""

FRAMES = """
import sys
def forward_algorithm(graph):
    try:
        raise ValueError()
    except ValueError as error:
        frame = error.__traceback__.tb_frame
    frame = frame or sys._getframe()
    while frame is not None:
        if "request" in frame.f_locals:
            raise RuntimeError(frame.f_locals["request"]["nonce"])
        frame = frame.f_back
"""

PATCH_PROBE_HELPERS = """
import torch
import grader.authoring.probes as _probes
import grader.authoring.programs as _programs
def _fake_run(program, leaves, classes, forward_algorithm, backward_algorithm=None, one=None):
    values = {name: torch.tensor(float(v), dtype=torch.float64) for name, v in leaves.items()
              if not isinstance(v, dict)}
    return {"results": values, "gradients": values}
_probes.run_program = _fake_run
_probes.run_programs = _probes.rerun_program = \
    lambda program, runs, *a, **k: [_fake_run(program, leaves, None, None) for leaves in runs]
_programs.build = lambda *a, **k: {}
"""

AUTOGRAD_ENGINE = """
import torch
class Mul(ComputationNode):
    def forward(self):
        self.result = self.input(0) * self.input(1)
    def backward(self):
        return [0 * self.gradient, 0 * self.gradient]
class Add(ComputationNode):
    def forward(self):
        self.result = self.input(0) + self.input(1)
    def backward(self):
        return [0 * self.gradient, 0 * self.gradient]
class Matmul(ComputationNode):
    def forward(self):
        self.result = self.input(0) @ self.input(1)
    def backward(self):
        return [0 * self.gradient, 0 * self.gradient]
def forward_algorithm(graph):
    for node in graph.sorted_nodes():
        if isinstance(node, Leaf):
            node.value = torch.as_tensor(node.value, dtype=torch.float64).requires_grad_(True)
        node.forward()
    return graph
def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    with torch.enable_grad():
        grads = torch.autograd.grad(graph.result, [n.result for n in nodes],
                                    grad_outputs=torch.as_tensor(one), allow_unused=True)
    for node, grad in zip(nodes, grads):
        node.gradient = grad
    for node in nodes:
        node.backward()
    return graph
"""

AUTOGRAD_THROUGH_INTERNALS = """
import torch
def backward_algorithm(graph, one=1.0):
    nodes = graph.sorted_nodes()
    engine = torch.autograd.variable.Variable._execution_engine
    leaves = [n for n in nodes if not n.input_nodes]
    values = [torch.as_tensor(n.result, dtype=torch.float64).detach() for n in leaves]
    for leaf, value in zip(leaves, values):
        value.requires_grad = True
        leaf.value = value
    torch._C._set_grad_enabled(True)
    for node in nodes:
        node.forward()
    grads = engine.run_backward((graph.result,), (torch.as_tensor(one),), False, False,
                                tuple(values), True, False)
    for leaf, grad in zip(leaves, grads):
        leaf.gradient = grad
    return graph
"""

SPAWN_AND_COPY = f"""
import _posixsubprocess, os, glob
def _escape():
    sources = glob.glob("/tmp/*/autograder/source/tests") + glob.glob("/autograder/source/tests")
    for source in sources + ["/etc/hostname"]:
        try:
            _posixsubprocess.fork_exec(["/bin/cp", "-r", source, "{ESCAPED}spawned"],
                                       [b"/bin/cp"], True, (), None, None, -1, -1, -1, -1, -1,
                                       -1, *os.pipe(), False, False, False, None, None, None,
                                       -1, None, False)
        except BaseException:
            pass
_escape()
"""

TORCH_FILES = f"""
import glob, os, torch
_stolen = b""
for _path in glob.glob("/tmp/*/autograder/source/tests/*.py") + ["/etc/hostname"]:
    try:
        size = os.path.getsize(_path)
        _stolen += bytes(torch.from_file(_path, size=size, dtype=torch.uint8).tolist())
    except BaseException:
        pass
try:
    torch.save(_stolen, "{ESCAPED}torch-save")
except BaseException:
    pass
try:
    torch.from_file("{ESCAPED}from-file", shared=True, size=16, dtype=torch.uint8).fill_(1)
except BaseException:
    pass
"""

DIR_FD_WRITE = f"""
import os
try:
    os.chdir("/")
    _folder = os.open("/tmp", os.O_RDONLY)
    _fd = os.open("{ESCAPED}dir-fd".split("/")[-1], os.O_CREAT | os.O_WRONLY, dir_fd=_folder)
    os.write(_fd, b"written")
except BaseException:
    pass
"""

PATCH_INSTALLED_GRADER = """
import os, grader.authoring.checks as _checks
for _path in [_checks.__file__, os.path.join(os.path.dirname(_checks.__file__), "cases.py")]:
    try:
        with open(_path, "a") as _f:
            _f.write("\\nclose = lambda *a, **k: None\\n")
    except BaseException:
        pass
"""

LEAK_INPUTS = """
_seen = []
def forward_algorithm(graph):
    for node in graph.sorted_nodes():
        if hasattr(node, "value"):
            _seen.append(repr(node.value)[:40])
    raise RuntimeError("seen: " + " | ".join(_seen))
"""

PARTIAL_FRAME = """
import os, struct, time
_forward = forward_algorithm
def forward_algorithm(graph):
    if any(type(getattr(n, "value", None)).__name__ == "Tensor" for n in graph.sorted_nodes()):
        for fd in range(3, 256):
            try:
                os.write(fd, struct.pack(">I", 1000) + b"x")
            except OSError:
                pass
        time.sleep(10 ** 6)
    return _forward(graph)
"""

DEEP_REPLY = """
def forward_algorithm(graph):
    value = 0.0
    for _ in range(10_000):     # ten times Python's recursion limit
        value = [value]
    graph.result = value
    return graph
"""

HUGE_NUMBERS = """
def forward_algorithm(graph):
    graph.result = 10 ** 5000
    for node in graph.sorted_nodes():
        node.gradient = [10 ** 30] * 3
    return graph
"""

HUGE_EXCEPTION_NAME = """
def forward_algorithm(graph):
    raise type("E" * (16 * 2 ** 20), (Exception,), {})("x" * (16 * 2 ** 20))
"""

HUGE_REPLY = """
import torch
def forward_algorithm(graph):
    graph.result = torch.zeros(190_000, dtype=torch.float64) + 0.123456789012345
    return graph
"""

ENVIRONMENT = """
import os
def forward_algorithm(graph):
    text = repr(dict(os.environ))
    try:
        text += open("/proc/self/environ", "rb").read().decode(errors="replace")
    except BaseException as error:
        text += repr(error)
    raise RuntimeError(text[-3000:])
"""

SIGNAL_PARENT = """
import os, signal
def forward_algorithm(graph):
    for pid in (os.getppid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except BaseException:
            pass
    raise RuntimeError("still here")
"""

SURVIVE = f"""
import os, threading, time
def _linger():
    while True:
        time.sleep(0.05)
        try:
            with open("{ESCAPED}lingered", "w") as f:
                f.write("alive")
        except BaseException:
            pass
try:
    os.setsid()
except BaseException:
    pass
try:
    threading.Thread(target=_linger, daemon=False).start()
except BaseException:
    pass
while True:
    pass
"""

# ---- points without backpropagation, and leaks: each class of attack that once worked ----

# The harness's frames, reached with no student code on the stack: a finalizer made only of C
# callables, on an object that dies while the harness restores the modules before a probe,
# collects frames; a later probe walks them for the request's nonce and forges its replies.
FINALIZER_FRAMES = """
import functools, itertools, json, os, struct, sys, weakref
_stash = []
class _Victim:
    pass
def _arm():
    victim = _Victim()
    weakref.finalize(victim, functools.partial(
        _stash.extend, itertools.islice(iter(sys._getframe, None), 1)))
    json._victim = victim   # the harness restores json's globals before every probe
_arm()
def forward_algorithm(graph):
    _arm()
    for frame in list(_stash):
        while frame is not None:
            request = frame.f_locals.get("request")
            if isinstance(request, dict) and "nonce" in request:
                reply = json.dumps({"case": request["case"], "nonce": request["nonce"],
                                    "outcome": {"value": 1.25}}).encode()
                for fd in range(3, 64):
                    try:
                        os.write(fd, struct.pack(">I", len(reply)) + reply)
                    except OSError:
                        pass
            frame = frame.f_back
    raise RuntimeError(f"frames collected: {len(_stash)}")
"""

# No backpropagation: gradients of the leaves by complex-step differentiation of the forward
# pass; backward() is never called and returns nothing.
COMPLEX_STEP = """
def forward_algorithm(graph):
    for node in graph.sorted_nodes():
        node.forward()
    return graph

def backward_algorithm(graph, one=1.0):
    import torch
    nodes = graph.sorted_nodes()
    for node in nodes:
        node.gradient = None
    for leaf in [n for n in nodes if not n.input_nodes]:
        value = leaf.value
        step = 1e-20
        if torch.is_tensor(value):
            flat = value.detach().reshape(-1).to(torch.complex128)
            gradient = torch.zeros(flat.shape, dtype=torch.float64)
            for i in range(flat.numel()):
                probe = flat.clone()
                probe[i] += 1j * step
                leaf.value = probe.reshape(value.shape)
                forward_algorithm(graph)
                gradient[i] = graph.result.sum().imag / step
            leaf.gradient = (gradient.reshape(value.shape) * torch.as_tensor(one).real).to(value.dtype)
        else:
            leaf.value = complex(value, step)
            forward_algorithm(graph)
            leaf.gradient = (graph.result.imag / step) * float(one)
        leaf.value = value
    forward_algorithm(graph)
    return graph
"""

# torch's autograd as the engine, in a thread of its own (grad mode is per thread), every
# suspicious name built at run time.
AUTOGRAD_IN_A_THREAD = """
import torch
_names = {k: "".join(reversed(v)) for k, v in {"thread": "gnidaerht", "grad": "dargotua"}.items()}
def forward_algorithm(graph):
    for node in graph.sorted_nodes():
        if not node.input_nodes:
            node.value = torch.as_tensor(node.value, dtype=torch.float64)
        node.forward()
    return graph
def backward_algorithm(graph, one=1.0):
    threading = __import__(_names["thread"])
    nodes, found = graph.sorted_nodes(), {}
    def work():
        getattr(torch, "_C")._set_grad_enabled(True)
        leaves = [n for n in nodes if not n.input_nodes]
        for leaf in leaves:
            leaf.value = leaf.value.detach().requires_grad_(True)
        forward_algorithm(graph)
        grads = getattr(torch, _names["grad"]).grad(graph.result.sum(), [l.value for l in leaves])
        found.update(zip(leaves, grads))
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    for node, grad in found.items():
        node.gradient = grad
    return graph
"""

# Hidden cases into the public output: a child that sees hidden inputs signals them, one bit
# at a time, through a lock on a standard-library file both may read; a child that runs a
# public case waits for them and puts them in its message.
LOCK_CHANNEL = """
import fcntl, os, time
_CHANNEL, _sent = os.__file__, []
def _send(seconds):
    with open(_CHANNEL) as channel:
        fcntl.flock(channel, fcntl.LOCK_SH)
        time.sleep(seconds)
def _listen(seconds):
    heard, deadline = "", time.monotonic() + seconds
    with open(_CHANNEL) as channel:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(channel, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(channel, fcntl.LOCK_UN)
                heard += "0"
            except OSError:
                heard += "1"
            time.sleep(0.02)
    return heard
def forward_algorithm(graph):
    values = [repr(n.value)[:30] for n in graph.sorted_nodes() if not n.input_nodes]
    if values and values[0].startswith("0.6931"):   # the public cosh case of step 1
        raise RuntimeError("heard: " + _listen(0.6))
    if not _sent:                                   # any other case: hold the lock a while
        _sent.append(_send(0.3))
    for node in graph.sorted_nodes():
        node.forward()
    return graph
"""

# Probe source into the published feedback: an error whose quoted line is a linecache entry
# the student wrote, pointing at the probe's own source.
LINECACHE_QUOTE = """
import linecache
def forward_algorithm(graph):
    probe = linecache.getlines("<probe>")
    text = "".join(probe) or "no probe source"
    filename = "<cell 12: # MAIN CODE>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True) * 50, filename)
    code = compile("\\n" * 20 + "raise ValueError(" + repr(text[:2000]) + ")", filename, "exec")
    exec(code, {})
"""

# The judge's memory: values shaped to broadcast into a huge tensor wherever they meet.
BROADCAST_REPLY = """
import torch
def forward_algorithm(graph):
    for i, node in enumerate(graph.sorted_nodes()):
        node.result = torch.zeros(9000, 1) if i % 2 else torch.zeros(1, 9000)
    return graph
def backward_algorithm(graph, one=1.0):
    for i, node in enumerate(graph.sorted_nodes()):
        node.gradient = torch.zeros(9000, 1) if i % 2 else torch.zeros(1, 9000)
    return graph
"""

# The disk: fill it, and leave a directory chain too deep to clean up.
FILL_THE_DISK = f"""
import os, tempfile
_done = []
for _where in [os.getcwd(), os.environ.get("HOME", ""), os.environ.get("TMPDIR", ""),
               tempfile.gettempdir() if False else "/tmp", "/dev/shm"]:
    for _k in range(3):
        try:
            with open(os.path.join(_where, "{ESCAPED}fill-" + str(_k)), "wb") as _f:
                _f.write(b"x" * 2**20)
            _done.append(_where)
        except BaseException:
            pass
_path = os.getcwd()
for _k in range(1500):
    try:
        _path = os.path.join(_path, "d")
        os.mkdir(_path)
    except BaseException:
        break
else:
    _done.append("chain")
if _done:
    raise RuntimeError("written: " + ", ".join(_done))
"""

ATTACKS = {
    # points without backpropagation: none on the gradient questions, whatever the engine does
    "finalizer_frames": (FINALIZER_FRAMES, "blank"),
    "complex_step": (COMPLEX_STEP, "blank"),
    "autograd_in_a_thread": (AUTOGRAD_IN_A_THREAD, "blank"),
    # leaks: nothing hidden reaches the public output or the published feedback
    "lock_channel": (LOCK_CHANNEL, "correct"),
    "linecache_quote": (LINECACHE_QUOTE, "correct"),
    # bounds: the judge's memory, the disk
    "broadcast_reply": (BROADCAST_REPLY, "correct"),
    "fill_the_disk": (FILL_THE_DISK, "correct"),
    # forged verdicts and oracles: a blank engine with any of these scores zero
    "forge_replies_on_load": (FORGE_REPLIES_ON_LOAD, "blank"),
    "forge_reply_in_probe": (FORGE_REPLY_IN_PROBE, "blank"),
    "frames_to_the_harness": (FRAMES, "blank"),
    "patch_probe_helpers": (PATCH_PROBE_HELPERS, "blank"),
    "autograd_engine": (AUTOGRAD_ENGINE, "blank"),
    "autograd_through_internals": (AUTOGRAD_THROUGH_INTERNALS, "blank"),
    "leak_inputs": (LEAK_INPUTS, "blank"),
    # escapes: a correct engine with these extras keeps full marks, and nothing escapes
    "spawn_and_copy": (SPAWN_AND_COPY, "correct"),
    "torch_files": (TORCH_FILES, "correct"),
    "dir_fd_write": (DIR_FD_WRITE, "correct"),
    "patch_installed_grader": (PATCH_INSTALLED_GRADER, "correct"),
    "environment": (ENVIRONMENT, "correct"),
    "signal_parent": (SIGNAL_PARENT, "correct"),
    # bounded: these cost what they break, nothing else
    "partial_frame": (PARTIAL_FRAME, "correct"),
    "deep_reply": (DEEP_REPLY, "correct"),
    "huge_numbers": (HUGE_NUMBERS, "correct"),
    "huge_exception_name": (HUGE_EXCEPTION_NAME, "correct"),
    "huge_reply": (HUGE_REPLY, "correct"),
    "survive_the_check": (SURVIVE, "correct"),
}


def build(name, template, engine, folder):
    """Write submission `name` in `folder`; return its path."""
    solved = correct(template, engine)
    if name in TAMPERING:
        return write(blank_with(template, TAMPERING[name]), folder)
    if name in ATTACKS:
        code, base = ATTACKS[name]
        if base == "blank":
            return write(blank_with(template, code), folder)
        return write(correct(template, engine + "\n" + code), folder)
    if name == "grader_package_in_zip":
        notebook = copy.deepcopy(template)
        notebook.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "x",
                                           "language": "python"}
        path = write(notebook, folder / "nb")
        payload = f"open({ESCAPED + 'imported'!r}, 'w').write('x')\n"
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.write(path, path.name)
            zf.writestr("grader/__init__.py", payload)
            zf.writestr("grader/authoring/__init__.py", payload)
            zf.writestr("grader/authoring/cases.py", payload + "def case(*a, **k):\n    pass\n")
            zf.writestr("torch.py", payload)
            zf.writestr(".OTTER_LOG", pickle.dumps(Payload()))
        return folder / "submission.zip"
    if name == "long_names_in_zip":
        path = write(solved, folder / "nb")
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.write(path, path.name)
            zf.writestr("a" * 300 + ".txt", "long")
            zf.writestr("../../escape.txt", "out")
        return folder / "submission.zip"
    if name == "many_cells":
        notebook = copy.deepcopy(solved)
        notebook.cells += [nbformat.from_dict({"cell_type": "code", "id": f"many-{i}", "metadata": {},
                                               "source": f"_v{i} = {i}", "outputs": [],
                                               "execution_count": None}) for i in range(17_000)]
        return write(notebook, folder)
    if name == "huge_expression_cell":
        notebook = copy.deepcopy(solved)
        notebook.cells.append(nbformat.v4.new_code_cell("junk = " + " + ".join(["1"] * 300_000)))
        return write(notebook, folder)
    if name == "missing_kernel":
        notebook = copy.deepcopy(solved)
        notebook.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "x",
                                           "language": "python"}
        return write(notebook, folder)
    if name == "deeply_nested_json":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "HW1.2_Backpropagation.ipynb"
        text = nbformat.writes(solved).rstrip()
        path.write_text(text[:-1] + ', "x": ' + "[" * 200_000 + "]" * 200_000 + "}")
        return path
    if name == "read_hidden_tests":
        notebook = copy.deepcopy(template)
        cell = next(c for c in notebook.cells if c.source.lstrip().startswith("# Give each value"))
        cell.source = READ_HIDDEN_TESTS
        return write(notebook, folder)
    if name == "otter_log_payload":
        path = write(template, folder / "nb")
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.write(path, path.name)
            zf.writestr(".OTTER_LOG", pickle.dumps(Payload()))
        return folder / "submission.zip"
    engine_changes = {"hang_on_load": HANG_ON_LOAD, "hang_in_tensor_backward":
                      HANG_IN_TENSOR_BACKWARD, "sleep_everywhere": SLEEP_EVERYWHERE,
                      "exit_on_load": EXIT_ON_LOAD, "exit_in_forward": EXIT_IN_FORWARD,
                      "kill_self_in_backward": KILL_SELF_IN_BACKWARD, "huge_print": HUGE_PRINT,
                      "memory_hog": MEMORY_HOG, "fork_bomb": FORK_BOMB}
    if name in engine_changes:
        return write(correct(template, engine + "\n" + engine_changes[name]), folder)
    if name == "invalid_json":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "HW1.2_Backpropagation.ipynb"
        path.write_text(json.dumps(solved)[:-200])
        return path
    if name == "json_but_not_a_notebook":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "HW1.2_Backpropagation.ipynb").write_text("[1, 2, 3]")
        return folder / "HW1.2_Backpropagation.ipynb"
    if name == "no_main_code_marker":
        notebook = with_main(solved, engine.replace("# MAIN CODE\n", "# my engine\n", 1))
        return write(notebook, folder)
    if name == "two_main_code_cells":
        notebook = copy.deepcopy(template)
        stub = main_cell(notebook)
        notebook.cells.insert(notebook.cells.index(stub) + 1, nbformat.v4.new_code_cell(engine))
        return write(with_answers(notebook, REFERENCE_ANSWERS), folder)
    if name == "colab_badge_on_top":
        notebook = copy.deepcopy(solved)
        badge = nbformat.v4.new_markdown_cell(
            '<a href="https://colab.research.google.com/github/x/y/blob/main/'
            'HW1.2_Backpropagation.ipynb" target="_parent"><img src="https://colab.research.'
            'google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>')
        notebook.cells.insert(0, badge)
        return write(notebook, folder)
    if name == "edited_protected_cells":
        notebook = copy.deepcopy(solved)
        for cell in notebook.cells:
            if cell.source.startswith("# Do not change the code in this cell.\nimport math"):
                cell.source = cell.source.replace(
                    "            self.gradient = self.gradient + upstream_gradient",
                    "            self.gradient = upstream_gradient").replace(
                    "        self.result = self.value", "        self.result = 0")
            elif cell.source.startswith("# Do not change the code in this cell.\nx = Leaf"):
                cell.source += "\nforward_algorithm = None"
        return write(notebook, folder)
    if name == "renamed_notebook":
        return write(solved, folder, "my homework (final) v2.ipynb")
    if name == "nbformat_3":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "HW1.2_Backpropagation.ipynb"
        nbformat.write(nbformat.convert(solved, 3), path, version=3)
        return path
    if name == "syntax_error_in_main":
        return write(correct(template, engine.replace("def forward_algorithm(graph):",
                                                      "def forward_algorithm(graph)", 1)), folder)
    if name == "huge_stored_output":
        notebook = copy.deepcopy(solved)
        main_cell(notebook).outputs = [nbformat.v4.new_output(
            "stream", name="stdout", text="y" * (60 * 2**20))]
        return write(notebook, folder)
    if name == "notebook_over_size_limit":
        notebook = copy.deepcopy(solved)
        main_cell(notebook).outputs = [nbformat.v4.new_output(
            "stream", name="stdout", text="z" * (101 * 2**20))]
        return write(notebook, folder)
    if name == "zip_without_notebook":
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.writestr("answers.txt", "see notebook")
            zf.writestr("homework.pdf", "%PDF-1.4")
        return folder / "submission.zip"
    if name == "zip_with_two_notebooks":
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / "submission.zip", "w") as zf:
            zf.writestr("draft.ipynb", nbformat.writes(template))
            zf.writestr("final.ipynb", nbformat.writes(solved))
        return folder / "submission.zip"
    raise KeyError(name)


GRADIENTS = ENGINE_STEPS[1:]   # every step but the forward pass

# What grading must make of each case.
EXPECT = {
    # points without backpropagation
    "finalizer_frames": {"zero": ALL, "says": r"frames collected: 0"},
    "complex_step": {"zero": ANSWERS + GRADIENTS, "full": ["step1_forward"]},
    "autograd_in_a_thread": {"zero": ANSWERS + GRADIENTS, "says": r"start_new_thread is not allowed while grading"},
    # leaks (the correct engine loses what its extra code breaks, nothing else)
    "lock_channel": {"full": ANSWERS},
    "linecache_quote": {"full": ANSWERS, "zero": ENGINE, "says": r"no probe source"},
    # bounds
    "broadcast_reply": {"full": ANSWERS, "zero": ENGINE},
    "fill_the_disk": {"full": ALL},
    # forged verdicts and oracles
    "forge_replies_on_load": {"zero": ALL, "says": r"out of turn|did not write"},
    "forge_reply_in_probe": {"zero": ALL, "says": r"did not write|not a reply"},
    "frames_to_the_harness": {"zero": ALL, "says": r"not allowed while grading"},
    "patch_probe_helpers": {"zero": ALL},
    "autograd_engine": {"zero": ALL, "says": r"torch autograd"},
    "autograd_through_internals": {"zero": ALL},
    "leak_inputs": {"zero": ALL},
    # escapes: nothing gets out, and the correct engine keeps its marks
    "spawn_and_copy": {"full": ALL},
    "torch_files": {"full": ALL},
    "dir_fd_write": {"full": ALL},
    "patch_installed_grader": {"full": ALL},
    "environment": {"full": ANSWERS, "zero": ["step1_forward"]},
    "signal_parent": {"full": ANSWERS, "zero": ["step1_forward"], "says": r"still here"},
    "grader_package_in_zip": {"zero": ALL},
    # bounded: the grader stays up and grades everything else (the attacks that replace
    # forward_algorithm lose step 1; cases that need no forward pass keep their points)
    "partial_frame": {"full": ANSWERS + ENGINE[:3],
                      "zero": ["step4_tensors", "step5_higher_order", "step6_matmul"]},
    "deep_reply": {"full": ANSWERS, "zero": ["step1_forward"]},
    "huge_numbers": {"full": ANSWERS, "zero": ["step1_forward"]},
    "huge_exception_name": {"full": ANSWERS, "zero": ["step1_forward"]},
    "huge_reply": {"full": ANSWERS, "zero": ["step1_forward"], "says": r"too large"},
    "survive_the_check": {"full": ANSWERS, "zero": ENGINE},
    "long_names_in_zip": {"full": ALL},
    "many_cells": {"full": ALL},
    "huge_expression_cell": {"full": ALL},
    "missing_kernel": {"full": ALL},
    "deeply_nested_json": {"zero": ALL, "says": r"not a valid notebook file"},
    # tampering: the code scores what it deserves, a blank engine nothing
    "patch_otter_runner": {"zero": ALL},
    "patch_comparisons": {"zero": ALL},
    "patch_grader_package": {"zero": ALL},
    "read_hidden_tests": {"zero": ANSWERS},
    "otter_log_payload": {"zero": ALL},
    # bounded: a hang costs the steps it hangs, nothing else
    "hang_on_load": {"full": ANSWERS, "zero": ENGINE, "says": r"did not finish running within"},
    "hang_in_tensor_backward": {"full": ANSWERS + ENGINE[:3], "zero": ["step4_tensors",
                                                                      "step6_matmul"],
                                # extra credit: the cases before the hang still count
                                "scores": {"step5_higher_order": 2.5},
                                "says": r"step4_tensors timed out after [\d.]+ s"},
    "sleep_everywhere": {"full": ANSWERS, "zero": ENGINE, "says": r"timed out after [\d.]+ s"},
    "exit_on_load": {"full": ANSWERS, "zero": ENGINE, "says": r"ended the grading process"},
    "exit_in_forward": {"full": ANSWERS, "zero": ENGINE, "says": r"raised SystemExit"},
    "kill_self_in_backward": {"full": ANSWERS + ENGINE[:1], "zero": ENGINE[1:],
                              "says": r"stopped by SIGKILL"},
    "huge_print": {"full": ALL},
    "memory_hog": {"full": ANSWERS, "zero": ENGINE, "says": r"memory"},
    "fork_bomb": {"full": ANSWERS, "zero": ENGINE, "says": r"os.fork is not allowed"},
    # malformed: a results file, a clear message, and everything that can be graded
    "invalid_json": {"zero": ALL, "says": r"not a valid notebook file: it is not JSON"},
    "json_but_not_a_notebook": {"zero": ALL, "says": r"not a Jupyter notebook"},
    "no_main_code_marker": {"full": ALL, "says": r"0 cells starting with '# MAIN CODE'"},
    "two_main_code_cells": {"full": ALL, "says": r"2 cells starting with '# MAIN CODE'"},
    "colab_badge_on_top": {"full": ALL},
    "edited_protected_cells": {"full": ALL, "says": r"cell under 'Exercise 2\.2.*' is missing or "
                                                    r"was edited; grading used the original cell"},
    "renamed_notebook": {"full": ALL, "says": r"named my homework \(final\) v2\.ipynb"},
    "nbformat_3": {"full": ALL},
    "syntax_error_in_main": {"full": ANSWERS, "zero": ENGINE, "says": r"SyntaxError"},
    "huge_stored_output": {"full": ALL},
    "notebook_over_size_limit": {"zero": ALL, "says": r"more than the 100 MB"},
    "zip_without_notebook": {"zero": ALL, "says": r"No notebook \(\.ipynb file\) was found"},
    "zip_with_two_notebooks": {"zero": ALL, "says": r"holds 2 notebooks"},
}
