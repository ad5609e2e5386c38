"""The child side of the sandbox: confine this process, load student cells, answer requests.

Imported by the grading process before the zygote is forked (so torch is loaded once), and run in
a child forked from the zygote for the cases of one question that share a visibility. Nothing
here decides a grade: the child reports plain data (see grader.sealed.protocol) to its parent,
which trusts none of it.

What student code meets here, in order: the wall (grader.sealed.wall: rlimits, Landlock,
seccomp, the audit hook), torch with its autograd switched off in the only thread there can be,
stand-ins for matplotlib (plots are not graded) and for the garbage collector's introspection,
and, before every probe, the probe helpers, the builtins and the modules they call restored to
their state before any student code ran. Requests come one case at a time, each with a nonce
that student code never sees.
"""

import builtins
import os
import sys
import types

import torch

import grader.authoring.checks  # noqa: F401  (what probes import, loaded before any student code)
import grader.authoring.declared  # noqa: F401
import grader.authoring.probes  # noqa: F401
import grader.authoring.programs  # noqa: F401
from grader.authoring import autograd_off, cases
from grader.authoring.errors import error_outcome
from grader.sealed import protocol

# The modules a probe may import: restored to this state before each probe.
HELPERS = ("grader.authoring.codec", "grader.authoring.programs", "grader.authoring.probes",
           "grader.authoring.declared", "grader.authoring.cases", "grader.authoring.errors",
           "grader.authoring.autograd_off")
PROVIDED_FILENAME = "<provided cell>"
def prepare():
    """What every child needs and no grading process may have, done once in the zygote: torch
    on one thread with its autograd switched off, the stand-ins for matplotlib and the garbage
    collector's introspection, and the snapshot each child restores before every probe."""
    global _SNAPSHOT
    _prepare_torch()
    _stand_ins()
    _SNAPSHOT = _Snapshot()


_SNAPSHOT = None


def main(wall, limits, requests, replies):
    """Entry point of a sandboxed child, forked from the zygote after `prepare`; never
    returns."""
    try:
        enforced = wall.confine(limits, keep=(requests, replies))
        _serve(requests, replies, enforced)
    finally:
        os._exit(0)


def _prepare_torch():
    """One thread, and autograd switched off for good (grader.authoring.autograd_off). With no
    second thread possible (seccomp), grad mode stays off everywhere."""
    torch.set_num_threads(1)
    autograd_off.switch_off()


class _Nothing(types.ModuleType):
    """A module whose every attribute is a no-op that returns itself: matplotlib while grading
    (it would need a writable directory, and plots are not graded)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __iter__(self):
        return iter(())


def _stand_ins():
    nothing = _Nothing("matplotlib")
    nothing.__path__ = []
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.pylab", "pylab"):
        sys.modules[name] = nothing
    gc = types.ModuleType("gc")  # collection only: no debug flags, no lists of live objects
    real = sys.modules["gc"]
    for name in ("collect", "enable", "disable", "isenabled"):
        setattr(gc, name, getattr(real, name))
    sys.modules["gc"] = gc


class _Snapshot:
    """What a probe relies on, as it was before student code ran, restored before every probe:
    the probe helpers (module globals, class attributes, function defaults), the builtins, and
    the modules the harness and the helpers call (math, torch, json, os, the protocol), so that
    patching them does not change what the next probe does or how its reply is written."""

    MODULES = HELPERS + ("grader.sealed.protocol", "grader.authoring.checks", "builtins", "math",
                         "torch", "torch._C", "torch.autograd", "json", "json.encoder",
                         "json.decoder", "os", "marshal", "linecache", "struct")

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
        for cls in (torch.Tensor, __import__("json").JSONEncoder, __import__("json").JSONDecoder):
            self.saved.append((cls, dict(cls.__dict__)))

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


def _serve(requests, replies, enforced):
    write_all, frame, read = protocol.write_all, protocol.to_parent, protocol.read_from_parent
    run_probe, reply = cases.run_probe, protocol.reply

    def send(message):
        write_all(replies, frame(message))

    send(protocol.confined(enforced))
    job = read(requests)
    snapshot = _SNAPSHOT
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    errors = []
    for k, cell in enumerate(job["cells"] + [None]):
        if k == job["provided_at"]:
            exec(job["provided"], namespace)  # compiled by the grading process
        if cell is None:
            break
        send(protocol.loading(cell["label"]))
        try:
            exec(compile(cell["source"], cell["label"], "exec"), namespace)
        except BaseException as error:  # noqa: B036 - student code may raise SystemExit
            errors.append({"cell": cell["label"], "error": error_outcome(error)})
    namespace.setdefault("torch", torch)  # the homework's cells import torch before it is needed
    send(protocol.loaded(errors))
    while True:
        snapshot.restore()
        request = read(requests)
        if request is None or request.get("done"):
            return
        outcome = run_probe(request["source"], request["name"], namespace, request["inputs"],
                            request["params"])
        snapshot.restore()  # the reply is written by the harness as it was, not as patched
        try:
            message = frame(reply(request, outcome))
        except (ValueError, TypeError, RecursionError):
            message = None
        if message is None or len(message) > protocol.MAX_FRAME:
            message = frame(reply(request, {"error": {
                "type": "", "frames": [],
                "text": "The values your code produced are too large or too deeply nested to be "
                        "checked."}}))
        write_all(replies, message)
