"""The child side of the sandbox: confine this process, load student cells, answer requests.

Imported by the fork server before any submission is seen (so torch is loaded once), and run in a
forked child per question. Nothing here decides a grade: the child reports plain JSON (see
grader.sealed.protocol) to its parent, which trusts none of it.

What student code meets here, in order: the kernel's wall (grader.sealed.wall: Landlock,
seccomp, the audit hook), torch with its autograd switched off (an engine that calls torch's
autograd is not an implementation of backpropagation), and, before every probe, the probe
helpers, the builtins and the modules they call restored to their state before any student
code ran, so that patching them does not change what the next probe does. Requests come one case
at a time, each with a nonce that student code never sees.
"""

import builtins
import ctypes
import os
import resource
import signal
import sys
import sysconfig

import torch
import torch.func  # noqa: F401  (imported here so that its entry points can be switched off)
import torch.autograd.forward_ad  # noqa: F401
import torch.autograd.functional  # noqa: F401

import grader.authoring.probes  # noqa: F401  (the helpers probes import, loaded now)
import grader.authoring.programs  # noqa: F401
from grader.authoring import cases
from grader.sealed import protocol, wall

# The modules a probe may import: restored to this state before each probe.
HELPERS = ("grader.authoring.codec", "grader.authoring.programs", "grader.authoring.probes",
           "grader.authoring.cases")
PR_SET_PDEATHSIG = 1
MINIMAL_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}



class AutogradRefused(BaseException):
    """Raised by torch's autograd entry points while grading (a BaseException, so that a
    student's `except Exception` does not hide it)."""


def main(requests, replies, job, limits):
    """Entry point of a sandboxed child (a multiprocessing target); never returns."""
    try:
        _close_inherited({requests.fileno(), replies.fileno()})
        enforced = _confine(limits)
        _serve(requests.fileno(), replies.fileno(), job, enforced)
    finally:
        os._exit(0)


def _close_inherited(keep):
    """Close every descriptor but the two pipes: a forked child inherits the fork server's
    (its "alive" pipe, the resource tracker's), which student code could write to."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _confine(limits):
    os.setsid()  # own process group: the parent kills the whole group
    memory = limits["memory_mb"] * 2**20
    for name, value in [("RLIMIT_AS", memory), ("RLIMIT_CPU", limits["cpu_seconds"]),
                        ("RLIMIT_FSIZE", 16 * 2**20), ("RLIMIT_CORE", 0),
                        ("RLIMIT_NOFILE", 256)]:
        resource.setrlimit(getattr(resource, name), (value, value))
    scratch = os.path.realpath(limits["workdir"])
    if limits.get("uid") is not None:
        uid = limits["uid"]
        os.chown(scratch, uid, uid)
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    # Die with the fork server: in its own session, this child would outlive a killed grader.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(0)
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update(MINIMAL_ENVIRONMENT, HOME=scratch, TMPDIR=scratch, MPLCONFIGDIR=scratch)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) in _python_dirs()]
    torch.set_num_threads(1)
    _switch_off_autograd()
    enforced = [f"user id {os.getuid()}" + (" (its own)" if limits.get("uid") else "")]
    return enforced + wall.confine(scratch, sorted(_python_dirs()))


def _python_dirs():
    """Where Python and its installed packages live: what student code may read."""
    paths = sysconfig.get_paths()
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, paths["stdlib"], paths["platstdlib"],
            paths["purelib"], paths["platlib"], os.path.dirname(torch.__path__[0])}
    return {os.path.realpath(d) for d in dirs if d}


def _switch_off_autograd():
    """Grad mode off, and every way to turn it on or to differentiate refused.

    The stubs keep no reference to torch's originals, which student code could reach through
    them. A determined student can still reach torch's internals; that is detected, not
    prevented: the judge checks that gradients flowed through each node's backward() (see
    grader.authoring.checks) and the static scan flags autograd for review.
    """
    torch.set_grad_enabled(False)
    original = torch._C._set_grad_enabled
    for module in list(sys.modules.values()):
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if value is original:
                setattr(module, name, _set_grad_enabled)
    for owner, names in [
            (torch.autograd, ("grad", "backward")),
            (torch.Tensor, ("backward", "register_hook", "requires_grad_")),
            (torch.autograd.functional, ("vjp", "jvp", "jacobian", "hessian", "vhp", "hvp")),
            (torch.func, ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
                          "hessian", "linearize", "functional_call")),
            (torch.autograd.forward_ad, ("make_dual", "unpack_dual", "dual_level"))]:
        for name in names:
            if hasattr(owner, name):
                setattr(owner, name, _refused)


_AUTOGRAD_OFF = ("torch autograd is switched off while grading: the homework is to implement "
                 "backpropagation, not to call torch's")


def _set_grad_enabled(mode):
    if mode:
        raise AutogradRefused(_AUTOGRAD_OFF)


def _refused(*args, **kwargs):
    raise AutogradRefused(_AUTOGRAD_OFF)


class _Snapshot:
    """What a probe relies on, as it was before student code ran, restored before every probe:
    the probe helpers (module globals, class attributes, function defaults), the builtins, and
    the modules the harness and the helpers call (math, torch, json, os, the protocol), so that
    patching them does not change what the next probe does or how its reply is written."""

    MODULES = HELPERS + ("grader.sealed.protocol", "builtins", "math", "torch", "torch._C",
                         "torch.autograd", "json", "json.encoder", "os", "linecache")

    def __init__(self):
        self.saved = []
        for name in self.MODULES:
            module = sys.modules[name]
            self.saved.append((module.__dict__, dict(module.__dict__)))
            if name not in HELPERS:
                continue
            for value in list(module.__dict__.values()):
                if isinstance(value, type) and value.__module__ == name:
                    self.saved.append((value, dict(value.__dict__)))
                elif callable(value) and getattr(value, "__module__", None) == name:
                    self.saved.append((value, {"__defaults__": value.__defaults__,
                                               "__kwdefaults__": value.__kwdefaults__}))
        self.saved.append((torch.Tensor, dict(torch.Tensor.__dict__)))

    def restore(self):
        for owner, attributes in self.saved:
            if isinstance(owner, dict):
                owner.clear()
                owner.update(attributes)
            elif isinstance(owner, type):
                for key in set(owner.__dict__) - set(attributes):
                    delattr(owner, key)
                for key, value in attributes.items():
                    if key not in ("__dict__", "__weakref__") and \
                            owner.__dict__.get(key) is not value:
                        setattr(owner, key, value)
            else:
                for key, value in attributes.items():
                    setattr(owner, key, value)


def _serve(requests, replies, job, enforced):
    snapshot = _Snapshot()
    describe, run_probe = cases.describe_error, cases.run_probe

    def send(message):
        protocol.write_all(replies, protocol.frame(message))

    def run(source, label):
        exec(compile(source, label, "exec"), namespace)

    send(protocol.confined(enforced))
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    run(job["provided"], cases.PROVIDED_FILENAME)
    namespace["torch"] = torch  # the homework's test cells import torch before it is needed
    errors = []
    for cell in job["cells"]:
        send(protocol.loading(cell["label"]))
        try:
            run(cell["source"], cell["label"])
        except BaseException as error:  # noqa: B036 - student code may raise SystemExit
            errors.append({"cell": cell["label"], "error": describe(error)})
    send(protocol.loaded(errors))
    while True:
        request = protocol.read_frame(requests)
        if request is None or request.get("done"):
            return
        snapshot.restore()
        outcome = run_probe(request["source"], request["name"], namespace, request["inputs"],
                            request["params"])
        refused = ["torch autograd"] if AutogradRefused.__name__ in outcome.get("error", "") \
            else []
        try:
            message = protocol.frame(protocol.reply(request, outcome, refused))
        except (ValueError, TypeError, RecursionError):
            message = None
        if message is None or len(message) > protocol.MAX_FRAME:
            message = protocol.frame(protocol.reply(request, {
                "error": "The values your code produced are too large or too deeply nested to "
                         "be checked."}, refused))
        protocol.write_all(replies, message)
