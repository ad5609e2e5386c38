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
import json
import linecache
import math
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Callable

from grader.authoring import codec

PROBE_FILENAME = "<probe>"
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

        `outcome` is what `run_probe` returned, decoded; `context` optionally explains why a
        student name is missing (for instance the cell that defines it failed).
        """
        if "missing" in outcome:
            names = ", ".join(outcome["missing"])
            return f"{names} {'is' if len(outcome['missing']) == 1 else 'are'} not defined" + (
                f": {context}" if context else " in your notebook.")
        if "error" in outcome:
            return outcome["error"]
        try:
            self.judge(outcome.get("value"), **self.inputs)
        except AssertionError as failure:
            return str(failure) or "The check failed."
        except Exception as error:  # the values do not have the shape the judge expects
            return f"The check could not read the values your code produced ({error!r:.200})."
        return None


class Collector(dict):
    """Stands in for `env` when the sealed grader loads tests: `case` records instead of running.

    A dict, so that Otter-style parameters other than `env` receive None from it.
    """

    def __init__(self):
        super().__init__()
        self.specs = []


def read_outcome(raw):
    """Validate an outcome that crossed from another process (see `run_probe`)."""
    if isinstance(raw, dict) and set(raw) == {"value"}:
        return {"value": codec.decode(raw["value"])}
    if isinstance(raw, dict) and set(raw) == {"error"} and isinstance(raw["error"], str):
        return {"error": raw["error"][:3000]}
    if (isinstance(raw, dict) and set(raw) == {"missing"} and isinstance(raw["missing"], list)
            and all(isinstance(n, str) for n in raw["missing"])):
        return {"missing": [n[:100] for n in raw["missing"][:50]]}
    raise codec.InvalidData("unexpected outcome")


def case(env, probe, judge, **inputs):
    if env.get(STUB_FLAG):
        # Otter's own kernel never sees student code; the sealed grader replaces this result.
        raise AssertionError("graded by the sealed grader")
    spec = make_spec(probe, judge, inputs)
    if isinstance(env, Collector):
        env.specs.append(spec)
        return
    text = run_probe(spec.source, spec.name, env, spec.inputs)
    message = spec.verdict(read_outcome(json.loads(text)))
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


def run_probe(source, name, namespace, inputs):
    """Run one probe against a student namespace; return its outcome as JSON text.

    This is the only code that calls student code during a check. It never raises: errors in the
    student's code come back as a message that says where they happened.
    """
    probe = _compile_probe(source, name)
    names = [p.name for p in inspect.signature(probe).parameters.values()
             if p.kind is p.POSITIONAL_OR_KEYWORD]
    missing = [n for n in names if namespace.get(n) is None]
    if missing:
        return json.dumps({"missing": missing})
    try:
        value = probe(**{n: namespace[n] for n in names}, **inputs)
        return json.dumps({"value": codec.encode(value)}, allow_nan=True)
    except BaseException as error:  # student code may raise anything, SystemExit included
        if isinstance(error, KeyboardInterrupt):
            raise
        return json.dumps({"error": describe_error(error)})


_compiled = {}


def _compile_probe(source, name):
    if (source, name) not in _compiled:
        import torch

        scope = {"__builtins__": builtins, "__name__": "probe", "math": math, "torch": torch}
        linecache.cache[PROBE_FILENAME] = (len(source), None, source.splitlines(True),
                                           PROBE_FILENAME)
        exec(compile(source, PROBE_FILENAME, "exec"), scope)
        _compiled[(source, name)] = scope[name]
    return _compiled[(source, name)]


def describe_error(error):
    """One paragraph for the student: what was raised, and where in their code."""
    kind = type(error).__name__
    try:
        text = str(error).strip()
    except Exception:  # a student's exception class may not even print
        text = ""
    if len(text) > 300:
        text = text[:300] + "..."
    where = _student_frame(error)
    message = f"Your code raised {kind}" + (f": {text}" if text else "")
    if isinstance(error, RecursionError):
        message += " (the recursion is too deep: does your code call itself without end?)"
    if where is not None:
        message += f"\n  in {where}"
    return message


def _student_frame(error):
    """Where in student code the error happened: `function (line N of <cell>): source`, plus the
    student's own call when the error surfaced inside the provided code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename != PROBE_FILENAME and "/grader/" not in f.filename
              and "/site-packages/" not in f.filename and "/lib/python" not in f.filename]
    if not frames:
        return None
    describe = lambda f: (f"{f.name} (line {f.lineno} of "
                          f"{f.filename if f.filename.startswith('<') else 'your notebook'})"
                          + (f": {f.line.strip()}" if f.line else ""))
    where = describe(frames[-1])
    callers = [f for f in frames if f.filename != PROVIDED_FILENAME]
    if frames[-1].filename == PROVIDED_FILENAME and callers:
        where += "\n  called from " + describe(callers[-1])
    return where
