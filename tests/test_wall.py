"""The wall around grading children (grader.sealed.wall), attacked from forked children.

Each test forks; the child builds a `Wall` and confines itself the way a grading child does
(`Wall().confine(limits)`), runs an attack compiled as student code (filename "<student>"), and
reports through a pipe as JSON. Attacks on what the kernel must stop run three ways:

- "none": no wall at all (the control): the attack must work, which proves it is a real attack
  and that the test of the wall can fail;
- "kernel": the wall with the audit hook and the refusing thread functions disabled (only
  rlimits, no_new_privs, Landlock and seccomp stand): the kernel must refuse;
- "full": the whole wall.

Everything runs as the grading user and again as uid 65534 (the confined child switches to it in
`confine`, as grading children do when Python is readable by others). Python lives where uid
65534 cannot read it here, so everything a child needs is imported before forking (as in the
zygote), and what uid 65534 cannot do even without the wall is skipped, with the reason.
"""

# What the attacks and the children use is loaded before forking, as in the zygote: a child
# that switched to uid 65534 could not read it.
import _posixsubprocess
import _thread  # noqa: F401
import collections  # noqa: F401
import ctypes
import enum  # noqa: F401
import errno
import json
import logging  # noqa: F401
import os
import resource  # noqa: F401
import select
import shutil
import signal
import socket  # noqa: F401
import stat
import subprocess  # noqa: F401
import sys
import tempfile
import threading  # noqa: F401
import time
import traceback
import typing  # noqa: F401
import warnings  # noqa: F401

import pytest
import torch

from grader.authoring.errors import error_outcome
from grader.sealed import wall

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

NOBODY = 65534
ROOT = os.geteuid() == 0
DENIED = (errno.EPERM, errno.EACCES)
SECRET = "hidden answers"
CPU_SECONDS = 20
PR_GET_PDEATHSIG = 2


def _landlock_abi():
    try:
        return int(wall._landlock.get_abi_version()) if wall._landlock is not None else 0
    except Exception:  # noqa: BLE001
        return 0


LANDLOCK_ABI = _landlock_abi()
SECCOMP = wall._seccomp is not None


def _memory_mb():
    """An address-space limit that leaves this process, forked now, room to work (it grows as
    the tests run)."""
    with open("/proc/self/status") as f:
        size_kb = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
    return size_kb // 1024 + 2048


torch.ones(2, 2) @ torch.ones(2, 2)  # load torch's CPU kernels now, as the zygote has


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _libc():
    """libc with the functions the attacks call resolved now (no dlsym after confining)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.process_vm_readv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong,
                                      ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    libc.process_vm_readv.restype = ctypes.c_ssize_t
    libc.unshare.argtypes = [ctypes.c_int]
    libc.getpid  # noqa: B018
    return libc


USERS = [pytest.param(None, id="grading-user"),
         pytest.param(NOBODY, id="nobody", marks=pytest.mark.skipif(
             not ROOT, reason="switching to uid 65534 needs root"))]
KERNEL = pytest.mark.skipif(not (LANDLOCK_ABI >= 1 and SECCOMP),
                            reason="this kernel lacks Landlock or seccomp")
LAYERS = [pytest.param("kernel", marks=KERNEL), "full"]


# --- the harness ---------------------------------------------------------------------------------

@pytest.fixture
def arena():
    """A fresh world-readable secret and a world-writable directory in /tmp, outside Python's
    directories; `mine` belongs to the user the attack runs as."""
    base = tempfile.mkdtemp(prefix="wall-")
    os.chmod(base, 0o755)
    secret = os.path.join(base, "secret.txt")
    with open(secret, "w") as f:
        f.write(SECRET)
    os.chmod(secret, 0o644)
    outside = os.path.join(base, "outside")
    os.mkdir(outside)
    os.chmod(outside, 0o777)
    victim = os.path.join(outside, "victim.txt")
    with open(victim, "w") as f:
        f.write("victim")
    os.chmod(victim, 0o666)
    here = f"wall-test-{os.path.basename(base)}.txt"  # relative: lands in the child's cwd
    yield {"base": base, "secret": secret, "outside": outside, "victim": victim, "here": here}
    shutil.rmtree(base, ignore_errors=True)
    for path in (os.path.join("/", here), os.path.join("/", here + ".pt")):
        if os.path.exists(path):
            os.remove(path)


def _mine(arena, uid):
    mine = os.path.join(arena["outside"], "mine.txt")
    if not os.path.exists(mine):
        with open(mine, "w") as f:
            f.write("mine")
        os.chmod(mine, 0o644)
        if uid is not None:
            os.chown(mine, uid, uid)
    return mine


class _NoHook:
    """Stands in for the audit hook in the "kernel" layer."""

    def __init__(self, readable):
        pass

    def __call__(self, event, args):
        pass


def _close_fds_but(keep):
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 4096)


def _child(source, arena, uid, layer, sibling, keep_session, patch, fresh, limits):
    torch.set_num_threads(1)  # as child.prepare does in the zygote: no thread pool to start
    libc = _libc()

    def check(result):
        if result == -1:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return result

    def vm_read_self():
        source_buffer = ctypes.create_string_buffer(b"memory", 6)
        target = ctypes.create_string_buffer(6)
        local = IOVec(ctypes.addressof(target), 6)
        remote = IOVec(ctypes.addressof(source_buffer), 6)
        check(libc.process_vm_readv(os.getpid(), ctypes.addressof(local), 1,
                                    ctypes.addressof(remote), 1, 0))
        return target.raw.decode()

    def pdeathsig():
        value = ctypes.c_int(-1)
        check(libc.prctl(PR_GET_PDEATHSIG, ctypes.addressof(value), 0, 0, 0))
        return value.value

    status = os.open("/proc/self/status", os.O_RDONLY)  # read through this fd once confined
    held = os.open(arena["outside"], os.O_PATH | os.O_DIRECTORY)
    held_base = os.open(arena["base"], os.O_PATH | os.O_DIRECTORY)
    env = {"__name__": "__main__", "torch": torch, "libc": libc, "check": check,
           "vm_read_self": vm_read_self, "pdeathsig": pdeathsig, "held": held,
           "held_base": held_base, "error_outcome": error_outcome, "parent": os.getppid(),
           **{k: arena[k] for k in ("base", "secret", "outside", "victim", "here")},
           "mine": os.path.join(arena["outside"], "mine.txt")}
    keep = {status, held, held_base, limits.pop("report")}
    hold = None
    if sibling:  # a process started before confining, of the same user: it must survive
        wait_r, hold = os.pipe()
        env["sibling"] = os.fork()
        if env["sibling"] == 0:
            os.close(hold)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            os.read(wait_r, 1)  # returns when the confined child closes `hold`
            with open(os.path.join(arena["outside"], "sibling.txt"), "w") as f:
                f.write("written after the child was confined")
            os._exit(0)
        os.close(wait_r)
        keep.add(hold)
    if layer == "none":
        _close_fds_but(keep)
    else:  # confine() closes the others (an extra one, to see it closed)
        env["inherited"] = os.open(os.devnull, os.O_RDONLY)
    for module in [m for m in sys.modules if m.split(".")[0] in fresh]:
        del sys.modules[module]  # so that importing it again is a fresh import
    if patch:
        patch()
    if layer == "none":
        report = None
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.chdir(arena["outside"])
    else:
        if layer == "kernel":
            wall.AuditHook = _NoHook
            wall._refuse_threads = lambda: None
        real_setsid = os.setsid
        if keep_session:  # stay out of a session of our own, so that setsid() could work
            os.setsid = lambda: None
        try:
            report = wall.Wall().confine(dict(limits, uid=uid), keep=keep)
        finally:
            os.setsid = real_setsid
    sys.stdout = sys.stderr = open(os.devnull, "w")
    out = {"report": report, "refused": False, "pid": os.getpid()}
    try:
        exec(compile(source, "<student>", "exec"), env)
    except BaseException as error:  # noqa: B036 - report SystemExit too
        out.update(refused=True, type=type(error).__name__, errno=getattr(error, "errno", None),
                   message=str(error))
    out["value"], out["after"] = env.get("result"), env.get("after")
    if sibling:  # it ends by itself (exit code 0) once `hold` is closed, unless it was killed
        os.close(hold)
        _, code = os.waitpid(env["sibling"], 0)
        out["sibling_alive"] = os.WIFEXITED(code) and os.WEXITSTATUS(code) == 0
    out["status"] = os.pread(status, 8192, 0).decode()
    return out


def run(source, arena, uid=None, layer="full", sibling=False, keep_session=False, patch=None,
        fresh=(), parent=None, timeout=30):
    """Run `source` as student code in a forked child walled in by `layer`; return its report
    (a dict), or None if the child reported nothing. `fresh`: top-level modules removed from
    sys.modules before confining (so that importing them is a fresh import)."""
    memory_mb = _memory_mb()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            limits = {"memory_mb": memory_mb, "cpu_seconds": CPU_SECONDS, "report": write_fd,
                      "parent": os.getppid() if parent is None else parent}
            out = _child(source, arena, uid, layer, sibling, keep_session, patch, fresh,
                         limits)
        except BaseException as error:  # noqa: B036
            try:
                out = {"setup_error": "".join(traceback.format_exception(error))}
            except BaseException:  # noqa: B036 - the audit hook refuses frames
                out = {"setup_error": f"{type(error).__name__}: {error}"}
        try:
            data = memoryview(json.dumps(out, default=repr).encode())
            while data:
                data = data[os.write(write_fd, data):]
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"the confined child did not answer within {timeout} s")
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    if not chunks:
        return None
    out = json.loads(b"".join(chunks))
    out["memory_mb"] = memory_mb
    assert "setup_error" not in out, out["setup_error"]
    return out


def _status(out, field):
    return next(line.split(":", 1)[1].strip() for line in out["status"].splitlines()
                if line.startswith(field + ":"))


# --- what the kernel must stop -------------------------------------------------------------------

def attack(source, kernel=DENIED, made=(), nobody=None, sibling=False, session=False,
           after=None):
    """`kernel`: what the kernel layer answers with, errnos or an exception type name; `made`:
    files (in `outside`, or "@here" for the child's cwd) the attack must not create; `nobody`:
    why the attack fails as uid 65534 even without the wall; `after`: the value of `after`
    (set by the attack in a `finally`) when it was refused."""
    return {"source": source, "kernel": kernel, "made": made, "nobody": nobody,
            "sibling": sibling, "session": session, "after": after}


NOT_DUMPABLE = "a process that switched user from root is not dumpable: its /proc files are root's"
OTHER_USER = "uid 65534 may not signal a process of another user anyway"
HERE = "@here"

KERNEL_ATTACKS = {
    # writes, anywhere
    "create_file": attack("import os\nopen(os.path.join(outside, 'open.txt'), 'w').write('x')\n",
                          made=["open.txt"]),
    "create_in_cwd": attack("open(here, 'w').write('x')\n", made=[HERE]),
    "append_existing": attack("open(victim, 'a').write('x')\n"),
    "truncate": attack("import os\nos.truncate(victim, 0)\n"),
    "rename": attack("import os\nos.rename(victim, os.path.join(outside, 'renamed.txt'))\n",
                     made=["renamed.txt"]),
    "mkdir": attack("import os\nos.mkdir(os.path.join(outside, 'd'))\n", made=["d"]),
    "hard_link": attack("import os\nos.link(victim, os.path.join(outside, 'hard.txt'))\n",
                        made=["hard.txt"]),
    "symlink": attack("import os\nos.symlink('/etc/hostname', os.path.join(outside, 'sym'))\n",
                      made=["sym"]),
    "mkfifo": attack("import os\nos.mkfifo(os.path.join(outside, 'fifo'))\n", made=["fifo"]),
    "o_creat_dir_fd": attack(
        "import os\nos.close(os.open('dirfd.txt', os.O_CREAT | os.O_WRONLY, 0o644,"
        " dir_fd=held))\n", made=["dirfd.txt"]),
    "o_creat_dir_fd_opened_after": attack(
        "import os\nd = os.open(outside, os.O_PATH)\n"
        "os.close(os.open('late.txt', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=d))\n",
        made=["late.txt"]),
    "torch_save_tmp": attack("import os\ntorch.save(torch.zeros(3), "
                             "os.path.join(outside, 'save.pt'))\n",
                             kernel="RuntimeError", made=["save.pt"]),
    "torch_save_cwd": attack("torch.save(torch.zeros(3), here + '.pt')\n",
                             kernel="RuntimeError", made=[HERE + ".pt"]),
    "torch_from_file_shared_tmp": attack(
        "import os\ntorch.from_file(os.path.join(outside, 'shared.bin'), shared=True, size=16)\n",
        kernel="RuntimeError", made=["shared.bin"]),
    "torch_from_file_shared_cwd": attack("torch.from_file(here, shared=True, size=16)\n",
                                         kernel="RuntimeError", made=[HERE]),
    "chmod": attack("import os\nos.chmod(mine, 0o600)\n"),
    "chown": attack("import os\nos.chown(mine, -1, -1)\n"),
    # reads outside Python's directories
    "read_secret": attack("result = open(secret).read()\n"),
    "read_secret_os_open": attack("import os\n"
                                  "result = os.read(os.open(secret, os.O_RDONLY), 100).decode()\n"),
    "read_secret_dir_fd": attack(
        "import os\nresult = os.read(os.open('secret.txt', os.O_RDONLY, dir_fd=held_base),"
        " 100).decode()\n"),
    "read_secret_torch_from_file": attack(
        "result = bytes(torch.from_file(secret, size=14, dtype=torch.uint8).tolist()).decode()\n",
        kernel="RuntimeError"),
    "list_tmp": attack("import os\nresult = sorted(os.listdir(base))\n"),
    "read_proc_environ": attack("result = open('/proc/self/environ', 'rb').read()"
                                ".decode('latin1')\n",
                                nobody=NOT_DUMPABLE),
    "read_etc_hostname": attack("result = open('/etc/hostname').read()\n"),
    # processes and threads
    "os_fork": attack("import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\n"
                      "os.waitpid(pid, 0)\n"),
    "posix_spawn": attack("import os\nos.waitpid(os.posix_spawn('/bin/true', ['/bin/true'], {}),"
                          " 0)\n"),
    "posixsubprocess_fork_exec": attack(
        "import _posixsubprocess, os\nr, w = os.pipe()\n"
        "pid = _posixsubprocess.fork_exec([b'/bin/true'], [b'/bin/true'], True, (w,), None, None,"
        " -1, -1, -1, -1, -1, -1, r, w, False, False, -1, None, None, None, -1, None, True)\n"
        "os.waitpid(pid, 0)\n"),
    "os_system": attack("import os\nstatus = os.system('true')\n"
                        "if status:\n    raise OSError(f'os.system failed: {status}')\n",
                        kernel="OSError"),
    "subprocess_run": attack("import subprocess\nsubprocess.run(['/bin/true'], check=True)\n"),
    "thread": attack("import threading\nfound = []\n"
                     "t = threading.Thread(target=found.append, args=(7,))\nt.start()\nt.join()\n"
                     "result = found\n", kernel="RuntimeError"),
    "thread_low_level": attack("import _thread, time\nfound = []\n"
                               "_thread.start_new_thread(found.append, (7,))\n"
                               "while not found:\n    time.sleep(0.001)\nresult = found\n",
                               kernel="RuntimeError"),
    # sockets
    "socket_inet": attack("import socket\n"
                          "socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()\n"),
    "socket_unix": attack("import socket\n"
                          "socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()\n"),
    "socketpair": attack("import socket\nfor s in socket.socketpair():\n    s.close()\n"),
    # signals and other processes
    "signal_parent": attack("import os\nos.kill(parent, 0)\n", nobody=OTHER_USER),
    "signal_pid_1": attack("import os\nos.kill(1, 0)\n", nobody=OTHER_USER),
    "kill_sibling": attack("import os, signal\nos.kill(sibling, signal.SIGKILL)\n", sibling=True),
    "pidfd_open_sibling": attack("import os\nos.close(os.pidfd_open(sibling))\n", sibling=True),
    "ptrace_traceme": attack("check(libc.ptrace(0, 0, None, None))\n"),  # PTRACE_TRACEME
    "process_vm_readv": attack("result = vm_read_self()\n"),
    # the process's own limits
    "setsid": attack("import os\ntry:\n    os.setsid()\n"
                     "finally:\n    after = os.getsid(0) == os.getpid()\n",
                     session=True, after=False),
    "setpgid": attack("import os\ntry:\n    os.setpgid(0, 0)\n"
                      "finally:\n    after = os.getpgid(0) == os.getpid()\n",
                      session=True, after=False),
    "pdeathsig_change": attack("try:\n    check(libc.prctl(1, 0, 0, 0, 0))\n"
                               "finally:\n    after = pdeathsig()\n", after=signal.SIGKILL),
    # PR_SET_MM, PR_SET_MM_MAP_SIZE: harmless (it reads a size), allowed to anyone by Linux
    "prctl_set_mm": attack("import ctypes\nsize = ctypes.c_uint(0)\n"
                           "check(libc.prctl(35, 15, ctypes.addressof(size), 0, 0))\n"
                           "result = size.value\n"),
    "setrlimit": attack("import resource\ntry:\n"
                        "    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))\n"
                        "finally:\n    after = resource.getrlimit(resource.RLIMIT_NOFILE)\n",
                        kernel="ValueError", after=[wall.OPEN_FILES, wall.OPEN_FILES]),
    "unshare_user_namespace": attack("check(libc.unshare(0x10000000))\n"),  # CLONE_NEWUSER
    "memfd_create": attack("import os\nos.close(os.memfd_create('x'))\n"),
}


def _made(arena, names):
    """The files among `names` that exist (in `outside`, or in / or `outside` for "@here")."""
    found = []
    for name in names:
        if name.startswith(HERE):
            name = arena["here"] + name[len(HERE):]
            candidates = [os.path.join("/", name), os.path.join(arena["outside"], name)]
        else:
            candidates = [os.path.join(arena["outside"], name)]
        found += [path for path in candidates if os.path.lexists(path)]
    return found


def _untouched(arena):
    with open(arena["victim"]) as f:
        assert f.read() == "victim"
    mine = os.path.join(arena["outside"], "mine.txt")
    assert stat.S_IMODE(os.stat(mine).st_mode) == 0o644


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("name", KERNEL_ATTACKS)
def test_attack_works_without_the_wall(name, uid, arena):
    """The control: each attack does what it says when nothing walls it in."""
    spec = KERNEL_ATTACKS[name]
    if uid is not None and spec["nobody"]:
        pytest.skip(spec["nobody"])
    _mine(arena, uid)
    out = run(spec["source"], arena, uid=uid, layer="none", sibling=spec["sibling"])
    assert not out["refused"], out
    assert len(_made(arena, spec["made"])) == len(spec["made"])
    if spec["after"] is not None:
        assert out["after"] != spec["after"]
    if name.startswith("read_secret"):
        assert out["value"] == SECRET
    if spec["sibling"] and "kill" in name:
        assert out["sibling_alive"] is False


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("name", KERNEL_ATTACKS)
def test_kernel_attack_refused(name, layer, uid, arena):
    spec = KERNEL_ATTACKS[name]
    if uid is not None and spec["nobody"]:
        pytest.skip(spec["nobody"])
    _mine(arena, uid)
    out = run(spec["source"], arena, uid=uid, layer=layer, sibling=spec["sibling"],
              keep_session=spec["session"])
    assert out["refused"], f"{name} succeeded: {out.get('value')!r}"
    if isinstance(spec["kernel"], str):
        expected = out["type"] == spec["kernel"]
    else:
        expected = out["errno"] in spec["kernel"]
    if layer == "kernel":
        assert expected, out
    else:  # the audit hook may refuse first
        assert expected or (out["type"] == "Refused" and out["errno"] == errno.EPERM), out
    assert SECRET not in json.dumps(out)
    assert _made(arena, spec["made"]) == []
    _untouched(arena)
    if spec["after"] is not None and (layer == "kernel" or out["after"] is not None):
        assert out["after"] == spec["after"], out
    if spec["sibling"]:
        assert out["sibling_alive"] is True


@pytest.mark.parametrize("uid", USERS)
def test_a_process_started_before_confining_survives_and_is_not_confined(uid, arena):
    """Landlock and seccomp hold for the confined process only: its sibling, started before,
    still works (and cannot be killed from inside)."""
    source = ("import os, signal\ntry:\n    os.kill(sibling, signal.SIGKILL)\n"
              "except PermissionError:\n    result = 'refused'\n")
    out = run(source, arena, uid=uid, sibling=True)
    assert out["value"] == "refused" and out["sibling_alive"] is True, out
    with open(os.path.join(arena["outside"], "sibling.txt")) as f:  # it could write
        assert f.read() == "written after the child was confined"


# --- what only the audit hook stops --------------------------------------------------------------

# name: (source, the layer under which the attack works: "kernel" (without the hook) or "none")
# Imports of modules named in FRESH are fresh imports (those modules are removed from sys.modules
# in the child first).
FRESH = ("grader", "otter", "ctypes", "_posixsubprocess")
AUDIT_ATTACKS = {
    "sys_getframe": ("import sys\nresult = repr(sys._getframe(0).f_back)\n", "kernel"),
    "sys_current_frames": ("import sys\nresult = len(sys._current_frames())\n", "kernel"),
    "traceback_tb_frame": ("try:\n    1 / 0\nexcept ZeroDivisionError as error:\n"
                           "    result = repr(error.__traceback__.tb_frame.f_back)\n", "kernel"),
    "generator_gi_frame": ("def g():\n    yield 1\nresult = repr(g().gi_frame)\n", "kernel"),
    "coroutine_cr_frame": ("async def c():\n    pass\nco = c()\ntry:\n"
                           "    result = repr(co.cr_frame)\nfinally:\n    co.close()\n", "kernel"),
    "async_generator_ag_frame": ("async def a():\n    yield 1\nresult = repr(a().ag_frame)\n",
                                 "kernel"),
    "settrace": ("import sys\nsys.settrace(lambda *args: None)\n"
                 "result = sys.gettrace() is not None\n"
                 "sys.settrace(None)\n", "kernel"),
    "setprofile": ("import sys\nsys.setprofile(lambda *args: None)\n"
                   "result = sys.getprofile() is not None\nsys.setprofile(None)\n", "kernel"),
    "gc_get_objects": ("import gc\nresult = len(gc.get_objects())\n", "kernel"),
    "gc_get_referrers": ("import gc\nresult = len(gc.get_referrers(torch))\n", "kernel"),
    "gc_get_referents": ("import gc\nresult = len(gc.get_referents(globals()))\n", "kernel"),
    "set_code": ("def f():\n    return 1\nf.__code__ = (lambda: 2).__code__\nresult = f()\n",
                 "kernel"),
    "import_grader_fresh": ("import grader.sealed.scan\nresult = 'imported'\n", "none"),
    "import_otter_fresh": ("import otter\nresult = otter.__name__\n", "kernel"),
    "import_ctypes_fresh": ("import ctypes.macholib\nresult = 'imported'\n", "kernel"),
    "import_posixsubprocess_fresh": ("import _posixsubprocess\nresult = 'imported'\n", "none"),
    # (calls through functions resolved before confining raise no event: the kernel's job)
    "ctypes_dlsym": ("result = libc.getppid()\n", "kernel"),
    "ctypes_dlopen": ("import ctypes\nresult = ctypes.CDLL(None).getpid()\n", "kernel"),
    "ctypes_memory": ("import ctypes\nresult = ctypes.string_at(id(1), 8).hex()\n", "kernel"),
    "chdir": ("import os\nos.chdir('/usr')\nresult = os.getcwd()\n", "kernel"),
}


@pytest.mark.parametrize("name", AUDIT_ATTACKS)
def test_audit_attack_works_without_the_hook(name, arena):
    source, layer = AUDIT_ATTACKS[name]
    out = run(source, arena, layer=layer, fresh=FRESH if name.startswith("import") else ())
    assert not out["refused"] and out["value"] is not None, out


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("name", AUDIT_ATTACKS)
def test_audit_attack_refused(name, uid, arena):
    out = run(AUDIT_ATTACKS[name][0], arena, uid=uid,
              fresh=FRESH if name.startswith("import") else ())
    assert out["refused"] and out["type"] == "Refused" and out["errno"] == errno.EPERM, out
    assert out["value"] is None


def test_student_code_cannot_add_an_audit_hook(arena):
    source = ("import sys\nseen = []\nsys.addaudithook(lambda event, args: seen.append(event))\n"
              "compile('1', '<x>', 'eval')\nresult = len(seen)\n")
    assert run(source, arena, layer="kernel")["value"] > 0  # the control: hooks do get added
    out = run(source, arena)
    assert not out["refused"] and out["value"] == 0, out


# --- what must keep working inside the wall ------------------------------------------------------

STDLIB = (
    "import collections, enum, logging, typing, warnings\n"
    "P = collections.namedtuple('P', 'x y')\n"
    "Color = enum.Enum('Color', 'RED GREEN')\n"
    "class Shade(enum.Enum):\n    DARK = 1\n"
    "T = typing.TypeVar('T')\n"
    "N = typing.NamedTuple('N', [('a', int)])\n"
    "records = []\n"
    "class Keep(logging.Handler):\n"
    "    def emit(self, record):\n        records.append(record.getMessage())\n"
    "log = logging.getLogger('student')\nlog.propagate = False\nlog.addHandler(Keep())\n"
    "log.warning('careful %s', 1)\n"
    "with warnings.catch_warnings(record=True) as caught:\n"
    "    warnings.simplefilter('always')\n    warnings.warn('deprecated')\n"
    "result = [P(1, 2).y, Color.GREEN.value, Shade(1).name, T.__name__, N(3).a, records,\n"
    "          [str(w.message) for w in caught]]\n")
POSITIVE = {
    "torch": ("a = torch.arange(6.).reshape(2, 3)\nb = torch.randn(64, 64)\n"
              "result = [(a @ a.T).tolist(), bool(torch.allclose(b @ torch.eye(64), b)),"
              " torch.get_num_threads()]\n",
              [[[5.0, 14.0], [14.0, 50.0]], True, 1]),
    "stdlib_that_asks_for_frames": (STDLIB, [2, 2, "DARK", "T", 3, ["careful 1"], ["deprecated"]]),
    "signal_to_self": ("import os, signal\nseen = []\n"
                       "signal.signal(signal.SIGUSR1, lambda *a: seen.append('raise'))\n"
                       "signal.raise_signal(signal.SIGUSR1)\n"
                       "signal.signal(signal.SIGUSR2, lambda *a: seen.append('kill'))\n"
                       "os.kill(os.getpid(), signal.SIGUSR2)\nresult = seen\n",
                       ["raise", "kill"]),
    "devices": ("import os\nopen('/dev/null', 'w').write('x')\n"
                "result = [len(open('/dev/urandom', 'rb').read(8)),"
                " open('/dev/zero', 'rb').read(2).hex(), len(os.urandom(4))]\n",
                [8, "0000", 4]),
    "errors_keep_their_frames": ("def f():\n    return 1 / 0\ntry:\n    f()\n"
                                 "except ZeroDivisionError as error:\n"
                                 "    result = error_outcome(error)['frames'][-2:]\n",
                                 [["<student>", 4, "<module>"], ["<student>", 2, "f"]]),
    "memory": ("result = len(bytearray(64 * 2**20))\n", 64 * 2**20),
}


@pytest.mark.parametrize("uid", USERS)
@pytest.mark.parametrize("name", POSITIVE)
def test_student_code_still_works(name, uid, arena):
    source, expected = POSITIVE[name]
    out = run(source, arena, uid=uid)
    assert not out["refused"] and out["value"] == expected, out


def test_python_files_stay_readable(arena):
    """Beneath Python's directories: reading files and importing fresh modules works."""
    fresh = next(m for m in ("colorsys", "fractions", "difflib", "fileinput", "cmath")
                 if m not in sys.modules)
    source = (f"import os, importlib\nresult = [open(os.__file__).read(40) == "
              f"{open(os.__file__).read(40)!r}, importlib.import_module({fresh!r}).__name__]\n")
    out = run(source, arena)
    assert not out["refused"] and out["value"] == [True, fresh], out


DYNLOAD = os.path.dirname(os.path.realpath(_posixsubprocess.__file__))
EXTENSION = next((m for m in ("_decimal", "_statistics", "_lzma", "_bz2", "_zoneinfo", "audioop",
                              "unicodedata", "_csv", "cmath")
                  if m not in sys.modules and
                  os.path.exists(os.path.join(DYNLOAD, f"{m}.{sys.implementation.cache_tag}"
                                              f"-{sys.implementation._multiarch}.so"))), None)


@pytest.mark.skipif(EXTENSION is None, reason="no extension module of the stdlib left to import")
def test_extension_modules_of_the_stdlib_import_without_the_wall(arena):
    source = f"import importlib\nresult = importlib.import_module({EXTENSION!r}).__name__\n"
    out = run(source, arena, layer="none")
    assert out["value"] == EXTENSION, out


@pytest.mark.skipif(EXTENSION is None, reason="no extension module of the stdlib left to import")
def test_extension_modules_of_the_stdlib_import_inside_the_wall(arena):
    source = ("import importlib, sys\n"
              f"result = [importlib.import_module({EXTENSION!r}).__name__,"
              f" {DYNLOAD!r} in sys.path]\n")
    out = run(source, arena)
    assert out["value"] == [EXTENSION, True], out


# --- the state confine() leaves, and what it says ------------------------------------------------

STATE = (
    "import os, resource, signal, sys\n"
    "null = os.stat('/dev/null')\n"
    "def is_open(fd):\n"
    "    try:\n        os.fstat(fd)\n    except OSError:\n        return False\n"
    "    return True\n"
    "result = {\n"
    "    'open': [is_open(inherited), is_open(held), is_open(held_base)],\n"
    "    'uid': [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()],\n"
    "    'session_leader': os.getsid(0) == os.getpid(),\n"
    "    'cwd': os.getcwd(),\n"
    "    'environ': dict(os.environ),\n"
    "    'stdio_null': [(os.fstat(fd).st_rdev, os.fstat(fd).st_ino) == (null.st_rdev, null.st_ino)"
    " for fd in (0, 1, 2)],\n"
    "    'limits': {name: list(resource.getrlimit(getattr(resource, name))) for name in"
    " ('RLIMIT_FSIZE', 'RLIMIT_CORE', 'RLIMIT_NOFILE', 'RLIMIT_CPU', 'RLIMIT_AS')},\n"
    "    'sigxfsz_ignored': signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN,\n"
    "    'path': sys.path,\n"
    "    'bytecode': sys.dont_write_bytecode,\n"
    "    'pdeathsig': pdeathsig(),\n"
    "}\n")


@pytest.mark.parametrize("uid", USERS)
def test_confine_leaves_the_process_in_its_place(uid, arena):
    out = run(STATE, arena, uid=uid, layer="kernel")  # the hook refuses ctypes.addressof
    assert not out["refused"], out
    state = out["value"]
    assert state["open"] == [False, True, True]  # an inherited descriptor closed, `keep` kept
    expected_uid = os.getuid() if uid is None else uid
    assert state["uid"][:2] == [expected_uid, expected_uid]
    if uid is not None:
        assert state["uid"][2:] == [uid, []]
    assert state["session_leader"] is True
    assert state["cwd"] == "/"
    assert state["environ"] == wall.MINIMAL_ENVIRONMENT
    assert state["stdio_null"] == [True, True, True]
    memory = out["memory_mb"] * 2**20
    assert state["limits"] == {"RLIMIT_FSIZE": [0, 0], "RLIMIT_CORE": [0, 0],
                               "RLIMIT_NOFILE": [64, 64],
                               "RLIMIT_CPU": [CPU_SECONDS, CPU_SECONDS],
                               "RLIMIT_AS": [memory, memory]}
    assert state["sigxfsz_ignored"] is True
    readable = set(wall.python_dirs())
    assert state["path"] and all(wall._beneath(os.path.realpath(p), readable)
                                 for p in state["path"])
    assert state["bytecode"] is True
    assert state["pdeathsig"] == signal.SIGKILL
    assert _status(out, "NoNewPrivs") == "1"
    if SECCOMP:
        assert _status(out, "Seccomp") == "2"


def test_confine_says_what_is_enforced(arena):
    out = run("result = 1\n", arena)
    lines = out["report"]
    assert lines[0] == f"user id {os.getuid()}"
    assert lines[1].startswith("no_new_privs: set")
    if LANDLOCK_ABI:
        assert lines[2].startswith(f"Landlock ABI {LANDLOCK_ABI}: reads only beneath "
                                   f"{len(wall.python_dirs())} Python directories")
        assert any(line.startswith("Landlock: TCP bind/connect denied") for line in lines) \
            == (LANDLOCK_ABI >= 4)
        assert any(line.startswith("Landlock: signals and abstract unix sockets scoped")
                   for line in lines) == (LANDLOCK_ABI >= 6)
    if SECCOMP:
        seccomp = [line for line in lines if line.startswith("seccomp")]
        assert seccomp and seccomp[0].startswith("seccomp: ") and "FAILED" not in seccomp[0]
        assert _status(out, "Seccomp") == "2"
    assert lines[-1].startswith("audit hook: installed")
    assert not any("unavailable" in line or "FAILED" in line or "NOT" in line for line in lines)


@pytest.mark.skipif(not ROOT, reason="switching to uid 65534 needs root")
def test_confine_names_the_user_of_its_own(arena):
    out = run("result = 1\n", arena, uid=NOBODY)
    assert out["report"][0] == f"user id {NOBODY} (its own)"


def _no_kernel_layers():
    wall._landlock = None
    wall._seccomp = None


def _no_libc():
    wall._prctl = None


def _landlock_fails():
    def refuse(*args):
        raise OSError(errno.EINVAL, "restrict_self refused")

    wall._landlock.restrict_self = refuse


def _seccomp_fails():
    class Broken:
        def __init__(self, *args):
            raise OSError(errno.EINVAL, "no filter")

    wall._seccomp.SyscallFilter = Broken


# Reading, writing and forking, each attempted: what refused them?
TRY_ALL = ("import os\nerrors = []\n"
           "for attempt in (lambda: open(secret).read(),\n"
           "                lambda: open(os.path.join(outside, 'x'), 'w'),\n"
           "                lambda: os.fork()):\n"
           "    try:\n        attempt()\n    except Exception as error:\n"
           "        errors.append(error)\n"
           "result = [type(e).__name__ for e in errors]\n")


def test_missing_kernel_layers_are_reported_and_the_hook_still_stands(arena):
    out = run(TRY_ALL, arena, patch=_no_kernel_layers)
    lines = out["report"]
    assert any(line.startswith("Landlock unavailable (") and line.endswith(
        "file access limited by the audit hook only") for line in lines), lines
    assert any(line.startswith("seccomp unavailable (") for line in lines), lines
    assert not any(line.startswith(("Landlock ABI", "seccomp: ")) for line in lines)
    assert _status(out, "Seccomp") == "0"  # really not there
    assert out["value"] == ["Refused", "Refused", "Refused"]
    assert _made(arena, ["x"]) == []


@pytest.mark.skipif(LANDLOCK_ABI < 1, reason="this kernel lacks Landlock")
def test_landlock_failing_to_apply_is_reported_not_raised(arena):
    out = run(TRY_ALL, arena, patch=_landlock_fails)
    lines = out["report"]
    assert any(line.startswith("Landlock FAILED (OSError: ") for line in lines), lines
    assert not any(line.startswith("Landlock ABI") for line in lines)
    assert out["value"] == ["Refused", "Refused", "Refused"]


@pytest.mark.skipif(not SECCOMP, reason="libseccomp is missing")
def test_seccomp_failing_to_load_is_reported_not_raised(arena):
    out = run(TRY_ALL, arena, patch=_seccomp_fails)
    lines = out["report"]
    assert any(line.startswith("seccomp FAILED (OSError: ") for line in lines), lines
    assert _status(out, "Seccomp") == "0"
    assert out["value"] == ["Refused", "Refused", "Refused"]


def test_no_libc_is_reported_not_raised(arena):
    out = run("result = 1\n", arena, patch=_no_libc)
    assert out["report"][1].startswith("no_new_privs: NOT set (no libc"), out["report"]
    assert out["value"] == 1


def test_the_audit_hook_alone_refuses_threads(arena):
    source = ("import threading\nfound = []\nt = threading.Thread(target=found.append, args=(1,))\n"
              "t.start()\nt.join()\nresult = found\n")
    out = run(source, arena, patch=_no_kernel_layers)
    assert out["refused"] and out["value"] is None, out


def test_a_child_whose_parent_is_gone_runs_nothing(arena):
    """confine() ends the process at once when it was not forked by `limits["parent"]` (that
    process died before PR_SET_PDEATHSIG could hold)."""
    assert run("result = 1\n", arena)["value"] == 1  # the control
    assert run("result = 1\n", arena, parent=1) is None


# --- Wall, prepared once -------------------------------------------------------------------------

def test_python_dirs_are_where_python_and_torch_live():
    dirs = wall.python_dirs()
    assert dirs == sorted(set(dirs))
    for module in (os, torch, json):
        path = os.path.realpath(module.__file__)
        assert any(path.startswith(d + "/") for d in dirs), path
    assert not any(os.path.realpath(__file__).startswith(d + "/") for d in dirs)
    assert not any(os.path.realpath(wall.__file__).startswith(d + "/") for d in dirs)


def test_readable_by_others():
    base = tempfile.mkdtemp(prefix="wall-readable-")  # /tmp is world-searchable
    try:
        os.chmod(base, 0o755)
        os.makedirs(os.path.join(base, "open", "inner"))
        os.makedirs(os.path.join(base, "closed", "inner"))
        for path, mode in [("open", 0o755), ("open/inner", 0o755), ("closed", 0o700),
                           ("closed/inner", 0o755)]:
            os.chmod(os.path.join(base, path), mode)
        assert wall.readable_by_others(os.path.join(base, "open", "inner")) is True
        assert wall.readable_by_others(os.path.join(base, "closed")) is False
        assert wall.readable_by_others(os.path.join(base, "closed", "inner")) is False
        os.chmod(os.path.join(base, "open", "inner"), 0o711)  # searchable, not listable
        assert wall.readable_by_others(os.path.join(base, "open", "inner")) is False
    finally:
        os.chmod(os.path.join(base, "closed"), 0o755)
        shutil.rmtree(base)


def test_wall_is_prepared_once():
    prepared = wall.Wall()
    try:
        assert prepared.readable == wall.python_dirs()
        if LANDLOCK_ABI:
            assert isinstance(prepared.ruleset, int) and os.fstat(prepared.ruleset)
            assert prepared.landlock[0].startswith(f"Landlock ABI {LANDLOCK_ABI}")
        else:
            assert prepared.ruleset is None
    finally:
        if prepared.ruleset is not None:
            os.close(prepared.ruleset)


def test_refused_is_a_permission_error_and_a_value_error():
    with pytest.raises(wall.Refused) as error:
        wall.refuse("this")
    assert isinstance(error.value, PermissionError) and isinstance(error.value, ValueError)
    assert error.value.errno == errno.EPERM
