"""The wall around grading children (grader.sealed.wall), attacked from forked children.

Each test forks; the child confines itself like a grading child, runs an attack compiled as
student code (filename "<student>"), and reports through a pipe as JSON. Attacks on things the
kernel must stop run twice: with the audit hook disabled ("kernel": only no_new_privs, Landlock
and seccomp stand) and with everything ("full"). Everything runs again as uid 65534 when root.
"""

import ctypes
import enum  # noqa: F401  (loaded before forking, like in the fork server)
import errno
import json
import os
import shutil
import socket  # noqa: F401
import subprocess  # noqa: F401
import sys
import sysconfig
import tempfile
import threading  # noqa: F401
import traceback

import pytest
import torch

from grader.sealed import wall

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

PATHS = sysconfig.get_paths()
READABLE = sorted({PATHS[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})
NOBODY = 65534
LANDLOCK = wall._landlock is not None and wall._landlock_abi() >= 1
SECCOMP = wall._seccomp is not None
DENIED = (errno.EPERM, errno.EACCES)
# Fresh modules for the import test: a pure-Python one and an extension module.
FRESH = [next((m for m in names if m not in sys.modules), None) for names in (
    ("fractions", "colorsys", "difflib", "fileinput"), ("cmath", "_statistics", "audioop"))]
torch.ones(2, 2) @ torch.ones(2, 2)  # load torch's CPU info now, as a fork server would


def _stdlib_readable_by_others():
    """uid 65534 can import fresh stdlib modules only if every directory up to it is o+x."""
    path = PATHS["stdlib"]
    while path != "/":
        if not os.stat(path).st_mode & 0o001:
            return False
        path = os.path.dirname(path)
    return True


USERS = [pytest.param(None, id="same-user"),
         pytest.param(NOBODY, id="nobody", marks=pytest.mark.skipif(
             os.geteuid() != 0, reason="switching to uid 65534 needs root"))]
LAYERS = [pytest.param("kernel", marks=pytest.mark.skipif(
              not (LANDLOCK and SECCOMP), reason="kernel lacks Landlock or seccomp")),
          "full"]


@pytest.fixture(scope="module")
def arena():
    """A world-readable secret and a world-writable directory, outside any scratch, in /tmp."""
    base = tempfile.mkdtemp(prefix="wall-")
    os.chmod(base, 0o755)
    secret = os.path.join(base, "secret.txt")
    with open(secret, "w") as f:
        f.write("hidden answers")
    os.chmod(secret, 0o644)
    outside = os.path.join(base, "outside")
    os.mkdir(outside)
    os.chmod(outside, 0o777)
    yield {"base": base, "secret": secret, "outside": outside}
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def scratch(arena):
    path = tempfile.mkdtemp(dir=arena["base"], prefix="scratch-")
    os.chmod(path, 0o777)
    return path


def _describe(function):
    """Harness-like code (existing before confine): call student code, read the traceback."""
    try:
        function()
    except ZeroDivisionError as error:
        return [frame.name for frame in traceback.extract_tb(error.__traceback__)]
    return None


def _child(source, scratch, arena, uid, layer, sibling, patch, harness):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl, libc.syscall  # resolved now: the attack then makes no dlsym

    def check(result):
        if result == -1:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return result

    env = {"__name__": "__main__", "scratch": scratch, "secret": arena["secret"],
           "outside": arena["outside"], "libc": libc, "check": check, "torch": torch}
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    keep = None
    if sibling:  # a process of the same uid started before confining: it must survive
        keep, hold = os.pipe()
        env["sibling"] = os.fork()
        if env["sibling"] == 0:
            os.close(hold)
            os.read(keep, 1)  # returns when the confined child exits
            os._exit(0)
    if layer == "kernel":
        wall.audit_hook = lambda scratch, readable: (lambda event, args: None)
    if patch == "no-kernel":
        wall._landlock_abi = lambda: 0
        wall._seccomp = None
    os.chdir(scratch)
    report = wall.confine(scratch, READABLE)
    out = {"report": report, "refused": False}
    try:
        exec(compile(source, "<student>", "exec"), env)
        out["value"] = env.get("result")
        if harness:
            out["value"] = harness(env["f"])
    except BaseException as error:  # noqa: B036 - report SystemExit too
        out.update(refused=True, type=type(error).__name__, errno=getattr(error, "errno", None),
                   message=str(error))
    if sibling:
        out["sibling_alive"] = os.waitpid(env["sibling"], os.WNOHANG) == (0, 0)
    return out


def confined(source, scratch, arena, uid=None, layer="full", sibling=False, patch=None,
             harness=None):
    """Run `source` as student code in a confined, forked child; return what it reported."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            out = _child(source, scratch, arena, uid, layer, sibling, patch, harness)
        except BaseException as error:  # noqa: B036
            out = {"setup_error": "".join(traceback.format_exception(error))}
        try:
            os.write(write, json.dumps(out, default=repr).encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    out = json.loads(b"".join(chunks) or b'{"setup_error": "child died"}')
    assert "setup_error" not in out, out.get("setup_error")
    return out


def _marker(name):
    return f"marker = os.path.join(outside, {name!r})\n"


# name: (source, errnos the kernel answers with (None: no errno reaches Python), file not made)
KERNEL_ATTACKS = {
    "posixsubprocess_fork_exec": (
        "import _posixsubprocess, os\n"
        "r, w = os.pipe()\n"
        "_posixsubprocess.fork_exec([b'/bin/true'], [b'/bin/true'], True, (w,), None, None,"
        " -1, -1, -1, -1, -1, -1, r, w, False, False, -1, None, None, None, -1, None, True)\n",
        DENIED, None),
    "os_fork": ("import os\nresult = os.fork()\nif result == 0: os._exit(0)\n", DENIED, None),
    "subprocess_run": ("import subprocess\nsubprocess.run(['/bin/true'])\n", DENIED, None),
    "posix_spawn": ("import os\nos.posix_spawn('/bin/true', ['/bin/true'], {})\n", DENIED, None),
    "os_system": ("import os\nstatus = os.system('true')\n"
                  "if status: raise OSError(f'os.system failed: {status}')\n", (None,), None),
    "write_open": ("import os\n" + _marker("open.txt") + "open(marker, 'w').write('x')\n",
                   DENIED, "open.txt"),
    "write_dir_fd_after_chdir": (
        "import os\n" + _marker("dirfd.txt") + "os.chdir('/')\n"
        "d = os.open(outside, os.O_PATH)\n"
        "os.open('dirfd.txt', os.O_CREAT | os.O_WRONLY, dir_fd=d)\n", DENIED, "dirfd.txt"),
    "write_torch_save": (
        "import os\n" + _marker("save.pt") + "torch.save(torch.zeros(3), marker)\n",
        (None,), "save.pt"),
    "write_torch_from_file": (
        "import os\n" + _marker("shared.bin") + "torch.from_file(marker, shared=True, size=16)\n",
        (None,), "shared.bin"),
    "read_open": ("result = open(secret).read()\n", DENIED, None),
    "read_torch_from_file": (
        "result = bytes(torch.from_file(secret, size=6, dtype=torch.uint8).tolist()).decode()\n",
        (None,), None),
    "read_os_open": ("import os\nresult = os.read(os.open(secret, os.O_RDONLY), 100).decode()\n",
                     DENIED, None),
    "read_proc_environ": ("result = open('/proc/self/environ', 'rb').read().decode('latin1')\n",
                          DENIED, None),
    "socket_inet": ("import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)\n",
                    DENIED, None),
    "socket_unix": ("import socket\nsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n",
                    DENIED, None),
    "prctl_pdeathsig": ("check(libc.prctl(1, 0, 0, 0, 0))\n", DENIED, None),
    "setsid": ("import os\nos.setsid()\n", DENIED, None),
}
AUDIT_ATTACKS = {
    "sys_getframe": "import sys\nresult = repr(sys._getframe().f_back)\n",
    "traceback_tb_frame": ("try:\n    1 / 0\nexcept ZeroDivisionError as error:\n"
                           "    result = repr(error.__traceback__.tb_frame.f_back)\n"),
    "gc_get_objects": "import gc\nresult = len(gc.get_objects())\n",
    "settrace": "import sys\nsys.settrace(lambda *args: None)\n",
    "import_ctypes_fresh": "import ctypes.macholib\n",
    "ctypes_dlopen": "import ctypes\nresult = ctypes.CDLL(None).getpid()\n",
    "ctypes_memory": "import ctypes\nresult = ctypes.string_at(id(1), 8).hex()\n",
    "import_sympy": "import sympy\n",
}


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", KERNEL_ATTACKS)
def test_kernel_attack_refused(name, layer, uid, scratch, arena):
    source, errnos, made = KERNEL_ATTACKS[name]
    out = confined(source, scratch, arena, uid=uid, layer=layer)
    assert out["refused"], f"{name} succeeded: {out.get('value')!r}"
    if layer == "kernel":
        assert out["errno"] in errnos, out
    assert "hidden answers" not in json.dumps(out)
    if made:
        assert not os.path.exists(os.path.join(arena["outside"], made))


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("layer", LAYERS)
def test_sibling_survives_kill(layer, uid, scratch, arena):
    out = confined("import os, signal\nos.kill(sibling, signal.SIGKILL)\n", scratch, arena,
                   uid=uid, layer=layer, sibling=True)
    assert out["refused"] and out["sibling_alive"], out
    if layer == "kernel":
        assert out["errno"] == errno.EPERM


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("name", AUDIT_ATTACKS)
def test_audit_attack_refused(name, uid, scratch, arena):
    if name == "import_sympy" and "sympy" in sys.modules:
        pytest.skip("sympy is already imported here, so no import event fires")
    out = confined(AUDIT_ATTACKS[name], scratch, arena, uid=uid)
    assert out["refused"] and out["type"] == "Refused", out
    assert "not allowed while grading" in out["message"]


@pytest.mark.parametrize("uid", USERS)
def test_fresh_stdlib_imports_work(uid, scratch, arena):
    if uid is not None and not _stdlib_readable_by_others():
        pytest.skip(f"{PATHS['stdlib']} is not readable by uid {uid} (Python under /root)")
    modules = [m for m in FRESH if m]
    source = "import importlib\nresult = [importlib.import_module(m).__name__ for m in %r]\n"
    out = confined(source % modules, scratch, arena, uid=uid)
    assert not out["refused"] and out["value"] == modules, out


POSITIVE = {
    "torch_math": ("a = torch.arange(6.).reshape(2, 3)\n"
                   "result = round((a @ a.T).exp().sum().item(), 3)\n",
                   round((torch.arange(6.).reshape(2, 3) @ torch.arange(6.).reshape(2, 3).T)
                         .exp().sum().item(), 3)),
    "scratch_files": ("import os\np = os.path.join(scratch, 'd', 'f.txt')\nos.mkdir('d')\n"
                      "open(p, 'w').write('hi')\nos.rename(p, 'g.txt')\n"
                      "result = open('g.txt').read()\nos.remove('g.txt')\nos.rmdir('d')\n",
                      "hi"),
    "thread": ("import threading\nfound = []\nt = threading.Thread(target=found.append, args=(7,))"
               "\nt.start()\nt.join()\nresult = found\n", [7]),
    "namedtuple_enum": ("import collections, enum\nP = collections.namedtuple('P', 'x y')\n"
                        "class Color(enum.Enum):\n    RED = 1\n"
                        "result = [P(1, 2).y, Color.RED.value, Color(1).name]\n", [2, 1, "RED"]),
    "own_signal": ("import signal\nseen = []\nsignal.signal(signal.SIGUSR1, "
                   "lambda *a: seen.append(1))\nsignal.raise_signal(signal.SIGUSR1)\n"
                   "result = seen\n", [1]),
}


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("name", POSITIVE)
def test_student_code_still_works(name, uid, scratch, arena):
    source, expected = POSITIVE[name]
    out = confined(source, scratch, arena, uid=uid)
    assert not out["refused"] and out["value"] == expected, out


def test_harness_reads_tracebacks(scratch, arena):
    """Code loaded before confine (the harness) may still walk a student's traceback."""
    out = confined("def f():\n    return 1 / 0\n", scratch, arena, harness=_describe)
    assert not out["refused"] and out["value"] == ["_describe", "f"], out


def test_report_says_what_is_enforced(scratch, arena):
    out = confined("result = 1\n", scratch, arena)
    text = "\n".join(out["report"])
    assert "no_new_privs: set" in text
    if LANDLOCK:
        assert f"Landlock ABI {wall._landlock_abi()}" in text
    if SECCOMP:
        assert "seccomp:" in text and "FAILED" not in text


def test_missing_kernel_features_degrade_loudly(scratch, arena):
    out = confined("result = open(secret).read()\n", scratch, arena, patch="no-kernel")
    text = "\n".join(out["report"])
    assert "Landlock unavailable (kernel ABI 0): file access limited by the audit hook only" in text
    assert "seccomp unavailable" in text
    assert out["refused"] and out["type"] == "Refused", out  # the audit hook still stands


def test_frames_refused_in_other_threads(scratch, arena):
    """A thread running only C callables has no student frame on its stack: still refused."""
    source = ("import sys, threading, functools, itertools\nbox, errors = [], []\n"
              "threading.excepthook = lambda a: errors.append(a.exc_type.__name__)\n"
              "t = threading.Thread(target=functools.partial(box.extend, "
              "itertools.starmap(sys._getframe, [()])))\nt.start()\nt.join()\n"
              "result = [len(box), errors]\n")
    out = confined(source, scratch, arena)
    assert out["value"] == [0, ["Refused"]], out
