"""torch's autograd switched off while student code is checked: the homework is to implement
backpropagation, not to call torch's.

The same entry points refuse, with the same error, in the student's kernel for the time of a
check (`switched_off`) and in a grading child for good (`switch_off`), so the notebook and
Gradescope say the same thing to an engine that calls autograd. A second layer: the checks'
own nodes (grader.authoring.declared) already make autograd's derivatives wrong.
"""

import contextlib
import sys

MESSAGE = ("torch autograd is switched off while grading: the homework is to implement "
           "backpropagation, not to call torch's")


class AutogradRefused(BaseException):
    """Raised by torch's autograd entry points while a check runs (a BaseException, so that a
    student's `except Exception` does not hide it)."""


def _refused(*args, **kwargs):
    raise AutogradRefused(MESSAGE)


def _set_mode(mode, *args):
    if mode:
        raise AutogradRefused(MESSAGE)


def _entry_points():
    """(owner, name, replacement) for every public way into autograd and its modes."""
    import torch
    import torch.autograd.forward_ad
    import torch.autograd.functional
    import torch.func

    points = [(torch._C, "_set_grad_enabled", _set_mode),
              (torch._C, "_set_fwd_grad_enabled", _set_mode)]
    for owner, names in [
            (torch.autograd, ("grad", "backward")),
            (torch.Tensor, ("backward", "register_hook", "requires_grad_")),
            (torch.autograd.functional, ("vjp", "jvp", "jacobian", "hessian", "vhp", "hvp")),
            (torch.func, ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
                          "hessian", "linearize", "functional_call")),
            (torch.autograd.forward_ad, ("make_dual", "unpack_dual", "dual_level")),
            (torch._C, ("_enter_dual_level",))]:
        points += [(owner, name, _refused) for name in names if hasattr(owner, name)]
    return points


@contextlib.contextmanager
def switched_off():
    """For the time of a check in the student's kernel: grad mode off, the entry points
    refused, everything as it was afterwards."""
    import torch

    points = _entry_points()
    missing = object()   # inherited, not in the owner's own __dict__: deleted afterwards
    saved = [(owner, name, owner.__dict__.get(name, missing)) for owner, name, _ in points]
    with torch.no_grad():
        try:
            for owner, name, replacement in points:
                setattr(owner, name, replacement)
            yield
        finally:  # before no_grad ends, which switches grad mode back on
            for owner, name, value in saved:
                if value is missing:
                    delattr(owner, name)
                else:
                    setattr(owner, name, value)


class _Engine:
    def __getattr__(self, name):
        return _refused


def switch_off():
    """For good, in the process grading children are forked from: grad mode and forward mode
    off, every entry point refused wherever a module holds it, and the engine itself replaced.
    The replacements keep no reference to torch's originals."""
    import torch

    torch.set_grad_enabled(False)
    torch._C._set_fwd_grad_enabled(False)
    points = _entry_points()
    extra = (torch._C._functorch._grad_increment_nesting,
             torch._C._functorch._jvp_increment_nesting)
    replacements = {id(getattr(owner, name)): replacement for owner, name, replacement in points}
    replacements.update({id(function): _refused for function in extra})
    for module in list(sys.modules.values()):
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if id(value) in replacements:
                setattr(module, name, replacements[id(value)])
    for owner, name, replacement in points:
        setattr(owner, name, replacement)
    for name in ("_ImperativeEngine", "_EngineBase"):
        setattr(torch._C, name, _refused)
    torch.autograd.variable.Variable._execution_engine = _Engine()
