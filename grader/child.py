"""The child side of the sandbox: confine this process, load student cells, run probes.

Imported by the fork server before any submission is seen (so torch is loaded once), and run in a
forked child per job. Nothing here decides a grade: the child only reports plain JSON lines to
its parent, which trusts none of them.
"""

import builtins
import json
import os
import resource
import sys
import tempfile

import torch  # noqa: F401  (loaded once in the fork server, shared by every child)

from .cases import PROVIDED_FILENAME, describe_error, run_probe

# Processes that grading code may not start, files it may not open: the audit hook below is a
# second wall behind the unprivileged user id, for machines where the grader does not run as root.
BLOCKED_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                  "os.kill", "os.killpg", "subprocess.Popen", "pty.spawn", "ctypes.dlopen",
                  "socket.connect", "socket.bind")


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
    workdir = tempfile.mkdtemp(prefix="backprop-child-")
    if limits.get("uid") is not None:
        uid = limits["uid"]
        os.chown(workdir, uid, uid)
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.chdir(workdir)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    torch.set_num_threads(1)
    hidden = tuple(os.path.realpath(p) for p in limits.get("hidden_paths", []))
    sys.addaudithook(_auditor(hidden))


def _auditor(hidden):
    def audit(event, args):
        if event == "open" and hidden and isinstance(args[0], (str, bytes)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path.startswith(hidden):
                raise PermissionError("grading files cannot be read")
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
