"""The wall around a grading child: kernel-enforced limits first, a Python audit hook second.

Audit hooks alone were bypassed (`_posixsubprocess.fork_exec` starts processes without an audit
event; `torch.from_file` and torch's file writer open files in C++; `os.open(..., dir_fd=...)`
hides the directory from the "open" event). So `confine()` asks the kernel:

1. PR_SET_NO_NEW_PRIVS: nothing this process runs can gain privileges (also required by 2 and 3).
2. Landlock (any ABI from 1 on; rights the kernel lacks are masked off): read only beneath the
   given directories (Python's stdlib and site-packages) and three device files; read and write
   only beneath the scratch directory. From ABI 4 TCP bind/connect is denied; from ABI 6 signals
   and abstract unix sockets cannot leave the process.
3. seccomp-bpf: no new processes (threads are fine), no sockets, no signals to other processes,
   no ptrace, mounts, namespaces, keyrings, io_uring, uid changes, chmod/chown, ...
4. The audit hook (`audit_hook`): friendly refusals for the same things, plus what the kernel cannot
   see: access to frames, code objects and the garbage collector, which would let student code
   reach the harness that runs it.

Every step degrades loudly: `confine()` never raises because a kernel feature is missing, it
returns lines for staff saying what is enforced and what is not.

Bindings: libseccomp through `pyseccomp` (pure ctypes, the API of libseccomp's own Python
bindings, needs only libseccomp.so.2 at run time; libseccomp also rejects x32 and i386 system
calls, which a hand-assembled filter easily forgets). Landlock through `py-landlock` (pure ctypes,
its ABI table matches the kernel's for ABI 1..7 and treats newer kernels as ABI 7, best-effort
mode masks rights the kernel lacks). Both call `ctypes.util.find_library` (which runs `ldconfig`)
once, when this module is imported: import it in the fork server, not in the child.

The audit hook is a second layer only: `ctypes` is loaded in the fork server (torch imports it)
and calls through already-resolved foreign functions raise no audit event, so code that reaches
them can overwrite interpreter memory. Only the kernel layers are a wall.
"""

import _thread
import errno
import os
import stat
import sys
import types

_LIBC_ERROR = _SECCOMP_ERROR = _LANDLOCK_ERROR = None  # why a layer is missing, if it is
try:
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
    _prctl.restype = ctypes.c_int
    _prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
except (ImportError, OSError, AttributeError) as error:  # pragma: no cover - no usable libc
    _prctl, _LIBC_ERROR = None, f"{type(error).__name__}: {error}"

try:
    import pyseccomp as _seccomp
except Exception as error:  # RuntimeError when libseccomp.so.2 is missing
    _seccomp, _SECCOMP_ERROR = None, f"{type(error).__name__}: {error}"

try:
    import py_landlock as _landlock
    from py_landlock.libc import get_syscall as _warm_landlock

    _warm_landlock()  # find libc now, so the child never runs ldconfig
except Exception as error:
    _landlock, _LANDLOCK_ERROR = None, f"{type(error).__name__}: {error}"

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_MM = 35
PR_SET_PTRACER = 0x59616D61
DEVICES = ("/dev/null", "/dev/urandom", "/dev/zero")

# Always refused by seccomp with EPERM.
DENIED_SYSCALLS = (
    # new processes (clone without CLONE_THREAD is below)
    "fork", "vfork", "execve", "execveat",
    # network and other sockets
    "socket", "socketpair",
    # leaving the process group, signalling other processes through pidfds
    "setsid", "setpgid", "pidfd_send_signal", "pidfd_getfd",
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
    # mounts and namespaces
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # kernel attack surface unprivileged code has no use for
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "personality",
    "open_by_handle_at", "name_to_handle_at", "memfd_create", "memfd_secret", "fanotify_init",
    # what only root can do, refused even when the child stays root
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "mknod", "mknodat", "iopl", "ioperm", "acct", "quotactl", "syslog",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    "vhangup", "setrlimit",
    # identities
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
    "setgroups",
    # file metadata, which Landlock does not cover (as root: any file)
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
)
# Signals: allowed only when the first argument (pid or thread group) is this process.
SELF_ONLY_SYSCALLS = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                      "pidfd_open")
CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                    0x40000000)  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
F_SETOWN, F_SETOWN_EX = 8, 15  # SIGIO to another process
# TIOCSTI, TIOCLINUX (terminal input injection), FIOSETOWN, SIOCSPGRP (SIGIO owner)
DENIED_IOCTLS = (0x5412, 0x541C, 0x8901, 0x8902)
INT_MASK = 0xFFFFFFFF  # int arguments: the kernel ignores the upper 32 bits, so must we

# Audit events refused outright (prefixes).
PROCESS_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                  "os.startfile", "subprocess.Popen", "pty.spawn", "webbrowser.open",
                  "ensurepip.bootstrap", "socket.", "ctypes.")
# Events that change the file system: every path argument must lie beneath scratch.
WRITE_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink",
                "os.chmod", "os.chown", "os.truncate", "os.utime", "os.setxattr",
                "os.removexattr", "os.chflags", "os.lchflags", "os.mkfifo", "os.mknod",
                "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
                "shutil.copytree", "shutil.move", "shutil.make_archive", "shutil.unpack_archive",
                "tempfile.mkstemp", "tempfile.mkdtemp"}
# Events that list directories: every path argument must be readable.
LIST_EVENTS = {"os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "pathlib.Path.glob",
               "pathlib.Path.rglob", "os.getxattr", "os.listxattr"}
# Events that reach frames or every live object, hence the harness's own state. The harness
# needs none of these, so they are refused outright.
INTROSPECTION_EVENTS = {"sys._current_frames", "sys._current_exceptions", "sys.settrace",
                        "sys.setprofile", "gc.get_objects", "gc.get_referrers",
                        "gc.get_referents"}
# Frame access the harness does need (traceback.extract_tb in describe_error, inspect.signature):
# allowed only when no student code is on the stack (see audit_hook).
FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_code", "gi_code",
                    "cr_code", "ag_code", "__code__"}
# Modules that may not be imported (fresh: the "import" event fires only for modules not yet in
# sys.modules; ctypes is, so its dangerous calls are refused as events instead).
BLOCKED_IMPORTS = ("ctypes", "_ctypes", "_posixsubprocess", "sympy", "otter", "grader")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class Refused(PermissionError, ValueError):
    """Raised by the audit hook. A ValueError too: stdlib code (namedtuple, Enum, typing,
    warnings, logging) calls sys._getframe under `except ValueError` and must keep working."""


def confine(scratch, readable):
    """Wall this process in; returns lines for staff saying what is enforced and what is not.

    Call it in the child after rlimits, setuid and PR_SET_PDEATHSIG, before any student code.
    Never raises because a kernel feature is missing (it says so instead). Irreversible.
    """
    scratch = os.path.realpath(scratch)
    readable = [os.path.realpath(p) for p in readable if os.path.isdir(p)]
    report = []
    threads = _thread_count()
    if threads > 1:
        report.append(f"WARNING: {threads} threads exist: Landlock confines only the calling "
                      "thread (seccomp is synchronised to all)")
    report.append(_no_new_privs())
    report.extend(_apply_landlock(scratch, readable))
    report.extend(_apply_seccomp(os.getpid()))
    sys.dont_write_bytecode = True  # __pycache__ writes outside scratch would only be refused
    sys.addaudithook(audit_hook(scratch, readable))
    report.append("audit hook: installed (second layer: processes, sockets, ctypes, signals, "
                  "paths, frames, gc and fresh imports of ctypes/sympy/otter/grader refused; "
                  "bypassable through ctypes memory writes)")
    return report


def _thread_count():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def _no_new_privs():
    if _prctl is None:
        return f"no_new_privs: NOT set (no libc: {_LIBC_ERROR})"
    if _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"no_new_privs: NOT set ({os.strerror(ctypes.get_errno())})"
    return "no_new_privs: set (no privilege gain through setuid or file capabilities)"


def _landlock_abi():
    """The kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    try:
        return int(_landlock.get_abi_version())
    except Exception:
        return 0


def _apply_landlock(scratch, readable):
    if _landlock is None:
        return [f"Landlock unavailable ({_LANDLOCK_ERROR}): file access limited by the audit "
                "hook only"]
    abi = _landlock_abi()
    if abi < 1:
        return [f"Landlock unavailable (kernel ABI {abi}): file access limited by the audit "
                "hook only"]
    fs = _landlock.AccessFs
    # EXECUTE is not granted: it governs execve only (which seccomp refuses anyway); mapping a
    # shared library as executable needs just READ_FILE.
    read = fs.READ_FILE | fs.READ_DIR
    write = (read | fs.WRITE_FILE | fs.TRUNCATE | fs.MAKE_REG | fs.MAKE_DIR | fs.REMOVE_FILE
             | fs.REMOVE_DIR | fs.REFER)
    try:
        # strict=False masks off rights this ABI lacks; handled are all rights the ABI knows,
        # all TCP rights (ABI 4) and all scopes (ABI 6).
        ruleset = _landlock.Landlock(strict=False)
        ruleset.add_path_rule(*readable, access=read)
        ruleset.add_path_rule(scratch, access=write)
        ruleset.add_path_rule("/dev/null", access=fs.READ_FILE | fs.WRITE_FILE)
        for device in DEVICES[1:]:
            if os.path.exists(device):
                ruleset.add_path_rule(device, access=fs.READ_FILE)
        ruleset.apply()
    except Exception as error:
        return [f"Landlock FAILED ({type(error).__name__}: {error}): file access limited by the "
                "audit hook only"]
    lines = [f"Landlock ABI {abi}: reads only beneath {len(readable)} Python directories, "
             f"{', '.join(DEVICES)} and scratch; writes only beneath scratch {scratch}"]
    if abi < 2:
        lines.append("Landlock ABI 1: renames and links across scratch directories are refused")
    if abi < 3:
        lines.append("Landlock ABI < 3: truncating files outside scratch is NOT refused by "
                     "the kernel (opening them for writing is)")
    lines.append("Landlock: TCP bind/connect denied" if abi >= 4 else
                 "Landlock ABI < 4: TCP NOT restricted by Landlock (seccomp refuses socket())")
    lines.append("Landlock: signals and abstract unix sockets scoped to this process"
                 if abi >= 6 else "Landlock ABI < 6: signals NOT scoped by Landlock (seccomp "
                 "limits kill/tgkill/tkill/sigqueue to this process)")
    return lines


def _apply_seccomp(pid):
    if _seccomp is None:
        return [f"seccomp unavailable ({_SECCOMP_ERROR}): processes, sockets and signals "
                "limited by the audit hook only"]
    sc = _seccomp
    eperm = sc.ERRNO(errno.EPERM)
    skipped = []
    try:
        rules = sc.SyscallFilter(sc.ALLOW)
        try:
            rules.set_attr(sc.Attr.ACT_BADARCH, 0x80000000)  # KILL_PROCESS for i386/x32 calls
        except OSError:
            pass
        try:
            rules.set_attr(sc.Attr.CTL_TSYNC, 1)  # all threads, should any exist
        except OSError:
            skipped.append("TSYNC")

        def add(action, name, *args):
            if sc.resolve_syscall(sc.Arch.NATIVE, name) < 0:
                skipped.append(name)  # unknown to this libseccomp or architecture
                return
            rules.add_rule(action, name, *args)

        for name in DENIED_SYSCALLS:
            add(eperm, name)
        add(sc.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone(2)
        add(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        for flag in CLONE_NAMESPACES:
            add(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
        for name in SELF_ONLY_SYSCALLS:
            add(eperm, name, sc.Arg(0, sc.NE, pid))
        add(eperm, "prctl", sc.Arg(0, sc.MASKED_EQ, INT_MASK, PR_SET_PDEATHSIG))
        add(eperm, "prctl", sc.Arg(0, sc.MASKED_EQ, INT_MASK, PR_SET_MM))
        add(eperm, "prctl", sc.Arg(0, sc.MASKED_EQ, INT_MASK, PR_SET_PTRACER))
        for command in (F_SETOWN, F_SETOWN_EX):
            add(eperm, "fcntl", sc.Arg(1, sc.MASKED_EQ, INT_MASK, command))
        for request in DENIED_IOCTLS:
            add(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, INT_MASK, request))
        add(eperm, "prlimit64", sc.Arg(2, sc.NE, 0))  # reading limits is fine, setting is not
        rules.load()
    except Exception as error:
        return [f"seccomp FAILED ({type(error).__name__}: {error}): processes, sockets and "
                "signals limited by the audit hook only"]
    lines = [f"seccomp: {len(DENIED_SYSCALLS) + len(SELF_ONLY_SYSCALLS) + 6} system calls "
             "refused or limited (no processes, sockets, signals to others, pdeathsig change, "
             "setsid, ptrace, namespaces, uid changes, chmod/chown, ...); threads allowed"]
    if skipped:
        lines.append(f"seccomp: not filtered (unknown here): {', '.join(skipped)}")
    return lines


def _is_dir(path):
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _mark(code, marked):
    """Remember `code` and the code nested in it (functions, lambdas, comprehensions)."""
    pending = [code]
    while pending:
        code = pending.pop()
        if type(code) is types.CodeType and id(code) not in marked:
            marked[id(code)] = code  # the reference keeps the id from being reused
            pending.extend(code.co_consts)


def audit_hook(scratch, readable):
    """The audit hook installed by confine(): refusals with readable messages, and the walls the
    kernel cannot build (frames, code objects, gc, imports).

    Frame access is allowed only in the confining thread and only when no frame on the
    stack runs code that reached exec/eval/FunctionType after confine(): the harness (e.g.
    traceback.extract_tb in describe_error) keeps working while student code, and anything it
    calls, is refused. Identity, not filenames: code can be compiled under any filename. So the
    harness must import what it needs before confine(): modules imported later count as student
    code. Not closed: student code can leave a chain of C callables (weakref.finalize,
    functools.partial, itertools.starmap) that the harness later runs with no student frame on
    the stack, and ctypes memory writes; which is why this is only the second layer.
    """
    scratch = os.path.realpath(scratch)
    writable = (scratch.rstrip("/") + "/",)
    readable = tuple(os.path.realpath(p).rstrip("/") + "/" for p in readable) + writable
    late = {}  # code run after confine(): cells, probes, modules imported since
    me = _thread.get_ident()
    pid = os.getpid()
    walking = []

    def refuse(what):
        raise Refused(errno.EPERM, f"{what} is not allowed while grading")

    def resolve(path):
        path = os.fsdecode(path)
        if not os.path.isabs(path) and ".." in path.split("/"):
            refuse(f"{path}: '..' in a relative path")  # a dir_fd would make it ambiguous
        return os.path.realpath(path)

    def check(path, roots, verb, extra=()):
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, (str, bytes)):
            real = resolve(path)
            if real not in extra and not (real + "/").startswith(roots):
                refuse(f"{os.fsdecode(path)} being {verb}")
            return real
        return None

    def untrusted():
        if _thread.get_ident() != me:
            return True
        if walking:  # our own sys._getframe and f_code below
            return False
        walking.append(1)
        try:
            frame = sys._getframe(1)
            while frame is not None:
                if id(frame.f_code) in late:
                    return True
                frame = frame.f_back
            return False
        finally:
            walking.pop()

    def audit(event, args):
        if event in ("exec", "function.__new__"):
            _mark(args[0], late)
        elif event == "open":
            path, mode, flags = args
            writing = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & WRITE_FLAGS)
            if writing:
                check(path, writable, "written", ("/dev/null",))
            else:
                real = check(path, readable, "read", DEVICES)
                if real and not (real + "/").startswith(writable) and _is_dir(real):
                    refuse(f"a handle on directory {real}")  # usable as dir_fd
        elif event in WRITE_EVENTS:
            for path in args:
                check(path, writable, "changed")
        elif event in LIST_EVENTS:
            check(args[0], readable, "listed")
        elif event == "os.chdir":
            if check(args[0], writable, "the working directory") is None:
                refuse("os.fchdir")
        elif event in ("os.kill", "os.killpg"):
            if event == "os.killpg" or args[0] != pid:
                refuse(f"{event} of another process")
        elif event.startswith(PROCESS_EVENTS):
            refuse(event)
        elif event == "import":
            name = args[0]
            if name.split(".")[0] in BLOCKED_IMPORTS:
                refuse(f"import {name}")
        elif event == "sys.addaudithook":
            raise RuntimeError("another audit hook")  # RuntimeError: silently not added
        elif event in ("object.__setattr__", "object.__delattr__"):
            if args[1] == "__code__":
                refuse(f"changing {args[1]}")
        elif event == "object.__getattr__":
            if args[1] in FRAME_ATTRIBUTES and untrusted():
                refuse(f"reading .{args[1]}")
        elif event == "sys._getframe":
            if untrusted():
                refuse(event)
        elif event in INTROSPECTION_EVENTS:
            refuse(event)

    return audit
