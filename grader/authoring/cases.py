"""Test cases split in two: a probe that runs student code, a judge that decides.

A test in the reference notebook is an Otter exception-based test function that ends with
`case(env, probe, judge, **inputs)`:

- `probe(<student names>..., *, <inputs>...)` builds graphs with the student's classes and returns
  raw values (results, gradients, call counts). Its positional parameters are student globals, by
  name, like Otter's own convention; its keyword-only parameters receive `inputs`. It is shipped as
  source text, so it may use only its parameters, builtins, `math`, `torch` and what it imports.
- `judge(found, **inputs)` computes what is expected and raises AssertionError with a message for
  the student when `found` is wrong (the helpers in `grader.authoring.checks` do this).

In the student's kernel (`grader.check`, `otter check`) both halves run in-process. The sealed
grader passes a `Collector` as `env`: it takes the spec, runs the probe in a sandboxed child and the
judge in a process that never ran student code. Both paths send the probe's output through the
same JSON encoding, so a verdict never depends on which path produced it.
"""

import builtins
import inspect
import io
import json
import linecache
import math
import re
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Callable

from grader.authoring import codec

PROBE_FILENAME = "<probe>"
MAX_TEXT = 300          # characters of an error's own text in a message
# Names the student defines in the # MAIN CODE cell; any other name is an answer.
ENGINE_NAMES = ("Mul", "Add", "Matmul", "forward_algorithm", "backward_algorithm")
PROVIDED_FILENAME = "<provided cell>"
STUB_FLAG = "__backprop_sealed_stub__"  # set in the placeholder notebook Otter executes


@dataclass
class CaseSpec:
    source: str           # the probe's source, dedented
    name: str             # the probe function's name
    student_names: list   # globals the probe takes from the student's namespace
    inputs: dict          # JSON-ready keyword arguments for probe and judge
    judge: Callable = field(repr=False)

    def verdict(self, outcome, context=None):
        """Return None when the case passes, else the message for the student.

        `outcome` is what `run_probe` returned, validated; `context` optionally explains why a
        student name is missing (for instance the cell that defines it failed).
        """
        if "missing" in outcome:
            return missing_message(outcome["missing"], context)
        if "error" in outcome:
            return outcome["error"]
        try:
            self.judge(outcome.get("value"), **self.inputs)
        except AssertionError as failure:
            return str(failure) or "The check failed."
        except Exception as error:  # the values do not have the shape the judge expects
            return f"The check could not read the values your code produced ({error!r:.200})."
        return None


def missing_message(names, context=None):
    """What to tell a student whose notebook does not define `names`."""
    listed = ", ".join(names)
    verb = "is" if len(names) == 1 else "are"
    if context:
        return f"{listed} {verb} not defined: {context}"
    if all(n in ENGINE_NAMES for n in names):
        return (f"{listed} {verb} not defined: define {'it' if len(names) == 1 else 'them'} in "
                "your `# MAIN CODE` cell and run that cell.")
    return (f"{listed} {verb} not defined: fill in {'its' if len(names) == 1 else 'their'} "
            "answer cell and run it.")


class Collector(dict):
    """Stands in for `env` when the sealed grader loads tests: `case` records instead of running.

    A dict, so that Otter-style parameters other than `env` receive None from it.
    """

    def __init__(self):
        super().__init__()
        self.specs = []


def case(env, probe, judge, **inputs):
    if env.get(STUB_FLAG):
        # Otter's own kernel never sees student code; the sealed grader replaces this result.
        raise AssertionError("graded by the sealed grader")
    spec = make_spec(probe, judge, inputs)
    if isinstance(env, Collector):
        env.specs.append(spec)
        return
    from grader.sealed.protocol import read_outcome

    outcome = run_probe(spec.source, spec.name, env, spec.inputs, spec.student_names)
    message = spec.verdict(read_outcome(json.loads(json.dumps(outcome, allow_nan=True))))
    if message is not None:
        raise AssertionError(message)


def make_spec(probe, judge, inputs):
    if probe.__code__.co_freevars:
        raise TypeError(f"probe {probe.__name__} uses variables of the enclosing test "
                        f"({', '.join(probe.__code__.co_freevars)}); pass them as inputs")
    json.dumps(inputs)  # inputs cross processes as JSON
    source = textwrap.dedent(inspect.getsource(probe))
    params = inspect.signature(probe).parameters.values()
    names = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    return CaseSpec(source, probe.__name__, names, dict(inputs), judge)


def run_probe(source, name, namespace, inputs, params):
    """Run one probe against a student namespace; return its outcome: {"value": encoded},
    {"error": message} or {"missing": names}.

    This is the only code that calls student code during a check. It never raises: errors in the
    student's code come back as a message that says where they happened. `params` are the
    probe's student names, computed where the probe was defined.
    """
    missing = [n for n in params if namespace.get(n) is None]
    if missing:
        return {"missing": missing}
    scope = {"__builtins__": builtins, "__name__": "probe", "math": math}
    try:
        import torch

        scope["torch"] = torch
        linecache.cache[PROBE_FILENAME] = (len(source), None, source.splitlines(True),
                                           PROBE_FILENAME)
        exec(compile(source, PROBE_FILENAME, "exec"), scope)
        value = scope[name](**{n: namespace[n] for n in params}, **inputs)
        return {"value": codec.encode(value)}
    except BaseException as error:  # student code may raise anything, SystemExit included
        if isinstance(error, KeyboardInterrupt):
            raise
        return {"error": describe_error(error)}


def describe_error(error):
    """One paragraph for the student: what was raised, and where in their code."""
    kind = type(error).__name__[:100]
    try:
        text = str(error).strip()
    except BaseException:  # noqa: B036 - a student's exception class may not even print
        text = ""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "..."
    message = f"Your code raised {kind}" + (f": {text}" if text else "")
    if isinstance(error, RecursionError):
        message += " (the recursion is too deep: does your code call itself without end?)"
    where = _student_frame(error)
    if where is not None:
        message += f"\n  in {where}"
    return message


def _frames(error):
    """(filename, line, function) of each traceback entry of `error`, innermost last.

    Read from CPython's own traceback printer, which is C code: the sealed child refuses
    Python-level access to frames (tb_frame), so that student code cannot reach the harness.
    """
    stream, saved = io.StringIO(), sys.stderr
    sys.stderr = stream
    try:  # printed with a plain exception: the student's own may not print, or print 16 MB
        sys.__excepthook__(Exception, Exception(), error.__traceback__)
    except BaseException:  # noqa: B036
        return []
    finally:
        sys.stderr = saved
    return [(f, int(n), fn) for f, n, fn in
            re.findall(r'^  File "(.*)", line (\d+), in (.*)$', stream.getvalue(), re.M)]


def _is_student(filename):
    if filename == PROBE_FILENAME or filename.startswith("<frozen"):
        return False
    return not any(part in filename for part in ("/grader/", "/site-packages/", "/lib/python"))


def _student_frame(error):
    """Where in student code the error happened, in the student's terms, plus the student's own
    call when the error surfaced inside the provided code."""
    frames = [f for f in _frames(error) if _is_student(f[0])]
    if not frames:
        return None
    where = _describe(frames[-1])
    callers = [f for f in frames if f[0] != PROVIDED_FILENAME]
    if frames[-1][0] == PROVIDED_FILENAME and callers:
        where += "\n  called from " + _describe(callers[-1])
    return where


def _describe(frame):
    filename, line, function = frame
    text = linecache.getline(filename, line).strip()
    return f"{function} (line {line} of {cell_name(filename)})" + (f": {text}" if text else "")


def cell_name(filename):
    """A notebook cell named as the student knows it, from a code object's file name: the
    sealed grader's labels ("<cell 7: # MAIN CODE>") or a Jupyter kernel's cell files."""
    if filename == PROVIDED_FILENAME:
        return "the provided code"
    label = re.match(r"<cell \d+: (.*)>$", filename)
    if label:
        first = label.group(1)
    else:
        lines = [l.strip() for l in linecache.getlines(filename) if l.strip()]
        first = lines[0] if lines else ""
    if first.startswith("# MAIN CODE"):
        return "your `# MAIN CODE` cell"
    return f"your cell starting `{first[:40]}`" if first else "your notebook"
