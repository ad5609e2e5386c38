"""The wall around a grading child, in one place: what the kernel enforces first, a Python audit
hook second.

`Wall()` is prepared once, in the process children are forked from (the zygote): it finds
Python's directories, builds the Landlock ruleset and loads the libraries the kernel layers use.
`Wall.confine(limits)` runs in each child before any student code and applies, in order:

1. no inherited descriptor but its pipes, a session of its own, rlimits (memory, CPU, no file
   may grow: nothing is ever written), a user id of its own when the grader is root and Python
   is readable by others, death with its parent, a harmless working directory, a minimal
   environment, stdio on /dev/null;
2. PR_SET_NO_NEW_PRIVS, then Landlock (any ABI; rights the kernel lacks are masked off): read
   only beneath Python's directories and three devices, write nowhere; from ABI 4 no TCP, from
   ABI 6 no signal or abstract unix socket leaves the process;
3. seccomp-bpf: no processes and no threads (so torch's grad mode, which is per thread, cannot
   be switched on in another one), no sockets, no signals to others, no ptrace, mounts,
   namespaces, keyrings, io_uring, id or mode changes;
4. the audit hook (`AuditHook`), with functions that start threads replaced by refusals (no
   audit event announces a thread): readable refusals of the same, and what the kernel cannot
   see: frames (which would let student code reach the harness that runs it), the garbage
   collector's view of every object, and fresh imports of the grading code.

Nothing needs a writable directory: a child has none. Every layer degrades loudly: `confine`
never raises because a kernel feature is missing, it returns lines for staff saying what is
enforced and what is not. Audit hooks alone are bypassable (ctypes writes to memory, C callables
that raise no event), which is why they are only the second layer.

Bindings: libseccomp through `pyseccomp` and Landlock through `py-landlock`, both pure ctypes;
both look up their libraries once, when this module is imported (in the zygote, never a child).
"""

import _thread
import errno
import os
import resource
import signal
import stat
import sys
import sysconfig

try:
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
    _prctl.restype = ctypes.c_int
    _prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    _LIBC_ERROR = None
except (ImportError, OSError, AttributeError) as error:  # pragma: no cover - no usable libc
    _prctl, _LIBC_ERROR = None, f"{type(error).__name__}: {error}"

try:
    import pyseccomp as _seccomp
    _SECCOMP_ERROR = None
except Exception as error:  # RuntimeError when libseccomp.so.2 is missing
    _seccomp, _SECCOMP_ERROR = None, f"{type(error).__name__}: {error}"

try:
    from py_landlock import abi as _landlock_abi
    from py_landlock import landlock_sys as _landlock
    from py_landlock.flags import AccessFs
    from py_landlock.libc import get_syscall as _warm_landlock
    from py_landlock.prctl import set_no_new_privs  # noqa: F401 - loads its libc lookup now

    _warm_landlock()  # find libc now, so the child never runs ldconfig
    _LANDLOCK_ERROR = None
except Exception as error:
    _landlock, _LANDLOCK_ERROR = None, f"{type(error).__name__}: {error}"

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_MM = 35
PR_SET_PTRACER = 0x59616D61
DEVICES = ("/dev/null", "/dev/urandom", "/dev/zero")
MINIMAL_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
                       "HOME": "/nonexistent", "TMPDIR": "/nonexistent"}
OPEN_FILES = 64

# Always refused by seccomp with EPERM.
DENIED_SYSCALLS = (
    # new processes and threads (clone3 gets ENOSYS below, so that glibc falls back to clone)
    "fork", "vfork", "clone", "execve", "execveat",
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
F_SETOWN, F_SETOWN_EX = 8, 15  # SIGIO to another process
# TIOCSTI, TIOCLINUX (terminal input injection), FIOSETOWN, SIOCSPGRP (SIGIO owner)
DENIED_IOCTLS = (0x5412, 0x541C, 0x8901, 0x8902)
INT_MASK = 0xFFFFFFFF  # int arguments: the kernel ignores the upper 32 bits, so must we

# Audit events refused outright (prefixes).
PROCESS_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                  "os.startfile", "subprocess.Popen", "pty.spawn", "webbrowser.open",
                  "ensurepip.bootstrap", "socket.", "ctypes.")
# Events that change the file system: refused (nothing is writable).
WRITE_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink",
                "os.chmod", "os.chown", "os.truncate", "os.utime", "os.setxattr",
                "os.removexattr", "os.chflags", "os.lchflags", "os.mkfifo", "os.mknod",
                "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
                "shutil.copytree", "shutil.move", "shutil.make_archive", "shutil.unpack_archive",
                "tempfile.mkstemp", "tempfile.mkdtemp", "os.chdir"}
# Events that list directories: the path must be readable.
LIST_EVENTS = {"os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "pathlib.Path.glob",
               "pathlib.Path.rglob", "os.getxattr", "os.listxattr"}
# Events that reach frames, or every live object (hence the harness's frames): the harness needs
# none of them once student code may run, so they are refused whoever asks.
INTROSPECTION_EVENTS = {"sys._getframe", "sys._current_frames", "sys._current_exceptions",
                        "sys.settrace", "sys.setprofile", "gc.get_objects", "gc.get_referrers",
                        "gc.get_referents", "sys.monitoring.register_callback"}
FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame"}
# Modules that may not be imported fresh: the grading code, Otter, and what starts processes.
BLOCKED_IMPORTS = ("ctypes", "_ctypes", "_posixsubprocess", "_thread", "otter", "grader")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class Refused(PermissionError, ValueError):
    """Raised by the audit hook. A ValueError too: stdlib code (namedtuple, Enum, typing,
    warnings, logging) calls sys._getframe under `except ValueError` and must keep working."""


def python_dirs():
    """Where Python and its installed packages live: all student code may read."""
    paths = sysconfig.get_paths()
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, paths["stdlib"], paths["platstdlib"],
            paths["purelib"], paths["platlib"]}
    return sorted({os.path.realpath(d) for d in dirs if d and os.path.isdir(d)})


def readable_by_others(path):
    """Whether a user with no rights of its own can read `path` (to import the stdlib there)."""
    path = os.path.realpath(path)
    parts = [path]
    while parts[-1] != "/":
        parts.append(os.path.dirname(parts[-1]))
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in parts) and \
        bool(os.stat(path).st_mode & stat.S_IROTH)


class Wall:
    """The confinement of grading children, prepared once in the process they are forked from."""

    def __init__(self):
        self.readable = python_dirs()
        self.ruleset, self.landlock = self._landlock_ruleset()

    # -- prepared once -------------------------------------------------------------------

    def _landlock_ruleset(self):
        """(ruleset fd, lines for staff), or (None, why not)."""
        if _landlock is None:
            return None, [f"Landlock unavailable ({_LANDLOCK_ERROR}): file access limited by "
                          "the audit hook only"]
        try:
            abi = int(_landlock.get_abi_version())
        except Exception:  # noqa: BLE001 - Landlock missing or disabled
            abi = 0
        if abi < 1:
            return None, [f"Landlock unavailable (kernel ABI {abi}): file access limited by "
                          "the audit hook only"]
        read = AccessFs.READ_FILE | AccessFs.READ_DIR
        try:
            attr = _landlock.RulesetAttr()
            attr.handled_access_fs = _landlock_abi.get_supported_fs(abi)
            attr.handled_access_net = _landlock_abi.get_supported_net(abi)  # 0 before ABI 4
            attr.scoped = _landlock_abi.get_supported_scope(abi)           # 0 before ABI 6
            ruleset = _landlock.create_ruleset(attr)
            rules = [(path, read) for path in self.readable] + \
                [("/dev/null", AccessFs.READ_FILE | AccessFs.WRITE_FILE)] + \
                [(device, AccessFs.READ_FILE) for device in DEVICES[1:] if os.path.exists(device)]
            for path, access in rules:
                rule = _landlock.PathBeneathAttr()
                rule.allowed_access = access & attr.handled_access_fs
                rule.parent_fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    _landlock.add_rule(ruleset, rule)
                finally:
                    os.close(rule.parent_fd)
        except Exception as error:  # noqa: BLE001
            return None, [f"Landlock FAILED ({type(error).__name__}: {error}): file access "
                          "limited by the audit hook only"]
        lines = [f"Landlock ABI {abi}: reads only beneath {len(self.readable)} Python "
                 f"directories and {', '.join(DEVICES)}; writes nowhere"]
        if abi < 3:
            lines.append("Landlock ABI < 3: truncating files is NOT refused by the kernel "
                         "(opening them for writing is)")
        lines.append("Landlock: TCP bind/connect denied" if abi >= 4 else
                     "Landlock ABI < 4: TCP NOT restricted by Landlock (seccomp refuses "
                     "socket())")
        lines.append("Landlock: signals and abstract unix sockets scoped to this process"
                     if abi >= 6 else "Landlock ABI < 6: signals NOT scoped by Landlock "
                     "(seccomp limits kill/tgkill/tkill/sigqueue to this process)")
        return ruleset, lines

    # -- in each child ---------------------------------------------------------------------

    def confine(self, limits, keep=()):
        """Wall this process in (irreversibly); return lines for staff saying what is enforced.
        `limits`: memory_mb, cpu_seconds, uid (None: keep the grading user), parent (the pid to
        die with); `keep`: the descriptors to keep open besides stdio."""
        _close_inherited(set(keep) | ({self.ruleset} if self.ruleset is not None else set()))
        self._process(limits)
        lines = [f"user id {os.getuid()}" + (" (its own)" if limits.get("uid") else ""),
                 self._no_new_privs()]
        lines += self._apply_landlock()
        lines += _apply_seccomp(os.getpid())
        sys.dont_write_bytecode = True
        _refuse_threads()
        sys.addaudithook(AuditHook(self.readable))
        lines.append("audit hook: installed (second layer: processes, threads, sockets, ctypes, "
                     "signals, writes, reads outside Python's directories, frames, the garbage "
                     "collector and fresh imports of the grading code refused)")
        return lines

    def _process(self, limits):
        os.setsid()  # a process group of its own: the grader kills the whole group
        memory = limits["memory_mb"] * 2**20
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write that would grow a file fails
        for name, value in [("RLIMIT_AS", memory), ("RLIMIT_CPU", limits["cpu_seconds"]),
                            ("RLIMIT_FSIZE", 0), ("RLIMIT_CORE", 0),
                            ("RLIMIT_NOFILE", OPEN_FILES)]:
            resource.setrlimit(getattr(resource, name), (value, value))
        if limits.get("uid") is not None:
            uid = limits["uid"]
            resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        # Die with the process this one was forked from, which dies with the grader.
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != limits["parent"]:
            os._exit(0)  # that process is already gone
        os.chdir("/")
        os.environ.clear()
        os.environ.update(MINIMAL_ENVIRONMENT)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        sys.path[:] = [p for p in sys.path if p and _beneath(os.path.realpath(p), self.readable)]

    def _no_new_privs(self):
        if _prctl is None:
            return f"no_new_privs: NOT set (no libc: {_LIBC_ERROR})"
        if _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"no_new_privs: NOT set ({os.strerror(ctypes.get_errno())})"
        return "no_new_privs: set (no privilege gain through setuid or file capabilities)"

    def _apply_landlock(self):
        if self.ruleset is None:
            return self.landlock
        try:
            _landlock.restrict_self(self.ruleset, None)
        except Exception as error:  # noqa: BLE001
            return [f"Landlock FAILED ({type(error).__name__}: {error}): file access limited by "
                    "the audit hook only"]
        finally:
            os.close(self.ruleset)
        return self.landlock


def _beneath(path, directories):
    return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in directories)


def _refuse_threads():
    """The second layer under seccomp for threads: Python 3.11 raises no audit event when one
    starts, so the functions that start them refuse."""
    def start_new_thread(*args, **kwargs):
        refuse("_thread.start_new_thread")
    _thread.start_new_thread = _thread.start_new = start_new_thread
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._start_new_thread = start_new_thread


def _close_inherited(keep):
    """Close every descriptor but stdio and those in `keep`: a forked child inherits the
    zygote's socket, which student code could write to."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _apply_seccomp(pid):
    if _seccomp is None:
        return [f"seccomp unavailable ({_SECCOMP_ERROR}): processes, threads, sockets and "
                "signals limited by the audit hook only"]
    sc = _seccomp
    eperm = sc.ERRNO(errno.EPERM)
    skipped = []
    try:
        rules = sc.SyscallFilter(sc.ALLOW)
        try:
            rules.set_attr(sc.Attr.ACT_BADARCH, 0x80000000)  # KILL_PROCESS for i386/x32 calls
        except OSError:
            pass

        def add(action, name, *args):
            if sc.resolve_syscall(sc.Arch.NATIVE, name) < 0:
                skipped.append(name)  # unknown to this libseccomp or architecture
                return
            rules.add_rule(action, name, *args)

        for name in DENIED_SYSCALLS:
            add(eperm, name)
        add(sc.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone(2)
        for name in SELF_ONLY_SYSCALLS:
            add(eperm, name, sc.Arg(0, sc.NE, pid))
        for option in (PR_SET_PDEATHSIG, PR_SET_MM, PR_SET_PTRACER):
            add(eperm, "prctl", sc.Arg(0, sc.MASKED_EQ, INT_MASK, option))
        for command in (F_SETOWN, F_SETOWN_EX):
            add(eperm, "fcntl", sc.Arg(1, sc.MASKED_EQ, INT_MASK, command))
        for request in DENIED_IOCTLS:
            add(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, INT_MASK, request))
        add(eperm, "prlimit64", sc.Arg(2, sc.NE, 0))  # reading limits is fine, setting is not
        rules.load()
    except Exception as error:  # noqa: BLE001
        return [f"seccomp FAILED ({type(error).__name__}: {error}): processes, threads, sockets "
                "and signals limited by the audit hook only"]
    lines = [f"seccomp: {len(DENIED_SYSCALLS) + len(SELF_ONLY_SYSCALLS) + 9} system calls "
             "refused or limited (no processes, no threads, no sockets, no signals to others, "
             "no pdeathsig change, setsid, ptrace, namespaces, id changes, chmod/chown, ...)"]
    if skipped:
        lines.append(f"seccomp: not filtered (unknown here): {', '.join(skipped)}")
    return lines


class AuditHook:
    """The second layer: readable refusals, and the walls the kernel cannot build."""

    def __init__(self, readable):
        self.readable = tuple(os.path.realpath(p).rstrip("/") + "/" for p in readable)
        self.pid = os.getpid()
        self.handlers = {"open": self.open, "os.kill": self.kill, "os.killpg": self.kill,
                         "import": self.fresh_import, "sys.addaudithook": self.another_hook,
                         "object.__setattr__": self.set_code, "object.__delattr__": self.set_code,
                         "object.__getattr__": self.frame_attribute}
        self.handlers.update({event: self.write for event in WRITE_EVENTS})
        self.handlers.update({event: self.listing for event in LIST_EVENTS})
        self.handlers.update({event: self.introspection for event in INTROSPECTION_EVENTS})

    def __call__(self, event, args):
        handler = self.handlers.get(event)
        if handler is not None:
            handler(event, args)
        elif event.startswith(PROCESS_EVENTS):
            refuse(event)

    def _readable(self, path):
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, (str, bytes)):
            return None  # a descriptor: opened before, or refused when it was opened
        path = os.fsdecode(path)
        if not os.path.isabs(path) and ".." in path.split("/"):
            refuse(f"{path}: '..' in a relative path")  # a dir_fd would make it ambiguous
        real = os.path.realpath(path)
        if real in DEVICES or (real + "/").startswith(self.readable):
            return real
        refuse(f"{path} being read")

    def open(self, event, args):
        path, mode, flags = args
        writing = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & WRITE_FLAGS)
        if writing:
            if path != os.devnull:
                refuse(f"{path} being written")
            return
        real = self._readable(path)
        if real is not None and real not in DEVICES and os.path.isdir(real):
            refuse(f"a handle on directory {real}")  # usable as dir_fd

    def write(self, event, args):
        refuse(f"{event} (nothing may be written while grading)")

    def listing(self, event, args):
        self._readable(args[0])

    def kill(self, event, args):
        if event == "os.killpg" or args[0] != self.pid:
            refuse(f"{event} of another process")

    def fresh_import(self, event, args):
        if args[0].split(".")[0] in BLOCKED_IMPORTS:
            refuse(f"import {args[0]}")

    def another_hook(self, event, args):
        raise RuntimeError("another audit hook")  # RuntimeError: silently not added

    def set_code(self, event, args):
        if args[1] == "__code__":
            refuse(f"changing {args[1]}")

    def frame_attribute(self, event, args):
        if args[1] in FRAME_ATTRIBUTES:
            refuse(f"reading .{args[1]}")

    def introspection(self, event, args):
        refuse(event)


def refuse(what):
    raise Refused(errno.EPERM, f"{what} is not allowed while grading")
