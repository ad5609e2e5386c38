"""The child side of the sandbox: confine this process, load student cells, run probes.

Imported by the fork server before any submission is seen (so torch is loaded once), and run in a
forked child per job. Nothing here decides a grade: the child only reports plain JSON lines to
its parent, which trusts none of them.
"""

import builtins
import ctypes
import json
import os
import resource
import signal
import sys
import sysconfig

import torch  # noqa: F401  (loaded once in the fork server, shared by every child)

import grader.authoring.probes  # noqa: F401  (probes import these after confinement)
import grader.authoring.programs  # noqa: F401

from grader.authoring.cases import PROVIDED_FILENAME, describe_error, run_probe

# What student code may not do. The audit hook below enforces it in every child; it is the only
# wall where the grader cannot run children as users of their own (not root, or a Python
# installation that other users cannot read), and a second wall where it can.
BLOCKED_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                  "os.kill", "os.killpg", "subprocess.Popen", "pty.spawn", "ctypes.dlopen",
                  "ctypes.dlsym", "socket.connect", "socket.bind")
# Events that change the file system: allowed only inside the child's own working directory.
WRITE_EVENTS = ("os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.link", "os.symlink",
                "os.chmod", "os.chown", "os.truncate", "os.utime", "shutil.rmtree")
# Beyond Python itself, what may be read: system files, never /tmp, /home, /root or /autograder,
# where grading directories, tests and reference notebooks live.
SYSTEM_ROOTS = ("/usr/", "/etc/", "/dev/", "/sys/", "/lib/", "/lib64/")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PR_SET_PDEATHSIG = 1


def main(conn, job, limits):
    """Entry point of a sandboxed child (a multiprocessing target); never returns."""
    try:
        _confine(limits)
        _run(conn, job)
        conn.close()
    finally:
        os._exit(0)


def _confine(limits):
    os.setsid()  # own process group: the parent kills the whole group
    memory = limits["memory_mb"] * 2**20
    for name, value in [("RLIMIT_AS", memory), ("RLIMIT_CPU", limits["cpu_seconds"]),
                        ("RLIMIT_FSIZE", 16 * 2**20), ("RLIMIT_CORE", 0)]:
        resource.setrlimit(getattr(resource, name), (value, value))
    workdir = os.path.realpath(limits["workdir"])
    if limits.get("uid") is not None:
        uid = limits["uid"]
        os.chown(workdir, uid, uid)
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    # Die with the fork server: in its own session, this child would outlive a killed grader.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.chdir(workdir)
    os.environ.update(HOME=workdir, TMPDIR=workdir, MPLCONFIGDIR=workdir)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    torch.set_num_threads(1)
    sys.addaudithook(_auditor(workdir))


def _auditor(workdir):
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(__file__),
              *sysconfig.get_paths().values()}
    readable = tuple(os.path.realpath(p).rstrip("/") + "/" for p in python) + SYSTEM_ROOTS + (
        workdir + "/", f"/proc/{os.getpid()}/")
    writable = (workdir + "/",)

    def check(path, roots, verb):
        if isinstance(path, (str, bytes)):
            if not (os.path.realpath(os.fsdecode(path)) + "/").startswith(roots):
                raise PermissionError(f"{os.fsdecode(path)} cannot be {verb} while grading")

    def audit(event, args):
        if event == "open":
            path, mode, flags = args
            writing = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & WRITE_FLAGS)
            check(path, writable if writing else readable, "written" if writing else "read")
        elif event in WRITE_EVENTS:
            for path in args:
                check(path, writable, "changed")
        elif event.startswith(BLOCKED_EVENTS):
            raise PermissionError(f"{event} is not allowed while grading")
    return audit


def _send(conn, message):
    conn.send_bytes(json.dumps(message, allow_nan=True).encode())


def _run(conn, job):
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(job["provided"], PROVIDED_FILENAME, "exec"), namespace)
    namespace["torch"] = torch  # the homework's test cells import torch before it is needed
    errors = []
    for cell in job["cells"]:
        _send(conn, {"loading": cell["label"]})
        try:
            exec(compile(cell["source"], cell["label"], "exec"), namespace)
        except BaseException as error:  # noqa: B036 - student code may raise SystemExit
            errors.append({"cell": cell["label"], "error": describe_error(error)})
    _send(conn, {"loaded": errors})
    for case in job["cases"]:
        outcome = run_probe(case["source"], case["name"], namespace, case["inputs"])
        _send(conn, {"case": case["id"], "outcome": json.loads(outcome)})
