"""Test cases split in two: a probe that runs student code, a judge that decides.

A test in the reference notebook is an Otter exception-based test function that ends with
`case(env, probe, judge, **inputs)`:

- `probe(<student names>..., *, <inputs>...)` builds graphs with the student's classes and returns
  raw values (results, gradients). Its positional parameters are student globals, by name, like
  Otter's own convention; its keyword-only parameters receive `inputs`. It is shipped as source
  text, so it may use only its parameters, builtins, `math`, `torch` and what it imports.
- `judge(found, **inputs)` computes what is expected and raises `CheckFailed` with a message for
  the student when `found` is wrong (the helpers in grader.authoring.checks do). It may return
  notes for course staff (evidence that is worth a look but decides nothing), or `Passed` to
  pass with a message for the student.

In the student's kernel (`grader.check`, `otter check`) both halves run in-process. The sealed
grader passes a `Collector` as `env`: it takes the spec, runs the probe in a sandboxed child and the
judge in a process that never ran student code. Both paths send the probe's output through the
same JSON encoding and the same `CaseSpec.verdict`, so a verdict and its message never depend on
which path produced it.
"""

import builtins
import inspect
import json
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Callable

from grader.authoring import codec
from grader.authoring.errors import describe, error_outcome
from grader.verdicts import Kind

# Names the student defines in the # MAIN CODE cell; any other name a probe takes is an answer.
ENGINE_NAMES = ("Mul", "Add", "Matmul", "forward_algorithm", "backward_algorithm")
STUB_FLAG = "__backprop_sealed_stub__"  # set in the placeholder notebook Otter executes
MAX_MESSAGE = 3_000     # characters of one case's message
MAX_NOTES = 20


class CheckFailed(AssertionError):
    """A judge's verdict against the student: the message, its kind, and optionally a picture
    of the graph the check built (see grader.feedback.graph)."""

    def __init__(self, message, kind=Kind.WRONG, picture=None):
        super().__init__(message)
        self.message, self.kind, self.picture = message, kind, picture


class Passed:
    """What a judge returns to pass with a message for the student (and notes for staff)."""

    def __init__(self, message, notes=()):
        self.message, self.notes = message, list(notes)


@dataclass
class Verdict:
    passed: bool
    kind: Kind
    message: str = ""
    picture: dict = None
    notes: list = field(default_factory=list)    # for course staff only


@dataclass
class CaseSpec:
    source: str           # the probe's source, dedented
    name: str             # the probe function's name
    student_names: list   # globals the probe takes from the student's namespace
    inputs: dict          # JSON-ready keyword arguments for probe and judge
    judge: Callable = field(repr=False)
    _code: object = field(default=None, repr=False)

    @property
    def code(self):
        """The probe, compiled once (what the sealed grader sends to its children)."""
        if self._code is None:
            self._code = compile(self.source, "<probe>", "exec")
        return self._code

    def verdict(self, outcome, sources=None, context=None):
        """The Verdict on a validated outcome (see `read_outcome`).

        `sources` maps the file names of the cells that ran to (their source, how the student
        knows them), to say where an error happened; `context` optionally explains why a name
        is missing (for instance the cell that defines it failed)."""
        if "missing" in outcome:
            return missing_verdict(outcome["missing"], context)
        if "error" in outcome:
            return Verdict(False, Kind.ERROR, describe(outcome["error"], sources or {}))
        try:
            notes = self.judge(outcome.get("value"), **self.inputs)
        except CheckFailed as failure:
            return Verdict(False, Kind(failure.kind), _clip(failure.message), failure.picture)
        except AssertionError as failure:
            return Verdict(False, Kind.WRONG, _clip(str(failure) or "The check failed."))
        except Exception as error:  # the values do not have the shape the judge expects
            return Verdict(False, Kind.WRONG, "The check could not read the values your code "
                                              f"produced ({type(error).__name__}).")
        message = "passed"
        if isinstance(notes, Passed):
            message, notes = _clip(notes.message), notes.notes
        notes = [str(n)[:500] for n in (notes or [])][:MAX_NOTES]
        return Verdict(True, Kind.PASSED, message, notes=notes)


def _clip(text):
    text = str(text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def missing_verdict(names, context=None):
    """The Verdict for a notebook that does not define `names`."""
    listed = ", ".join(names)
    verb = "is" if len(names) == 1 else "are"
    engine = all(n in ENGINE_NAMES for n in names)
    if context:  # the cell meant to define them raised
        return Verdict(False, Kind.ERROR, f"{listed} {verb} not defined: {context}")
    kind = Kind.NOT_DEFINED if engine else Kind.UNANSWERED
    if engine:
        return Verdict(False, kind, f"{listed} {verb} not defined: define "
                                    f"{'it' if len(names) == 1 else 'them'} in your "
                                    "`# MAIN CODE` cell and run that cell.")
    return Verdict(False, kind, f"{listed} {verb} not defined: fill in "
                                f"{'its' if len(names) == 1 else 'their'} answer cell and run it.")


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
    from grader.authoring.autograd_off import switched_off

    with switched_off():  # as in grading
        outcome = run_probe(spec.source, spec.name,
                            answers_from_notebook(env, spec.student_names), spec.inputs,
                            spec.student_names)
    verdict = spec.verdict(read_outcome(json.loads(json.dumps(outcome, allow_nan=True))),
                           kernel_sources(outcome, env))
    if not verdict.passed:
        if verdict.picture:
            _show(verdict.picture)
        raise CheckFailed(verdict.message, verdict.kind, verdict.picture)
    if verdict.message != "passed":
        print(verdict.message)


def _show(picture):
    """In a notebook, draw the graph a failed check built (above Otter's own report)."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return
    if get_ipython() is not None:
        from grader.feedback.graph import render_html

        display(HTML(render_html(picture)))


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
    """Run one probe (its source, or its code compiled from it) against a student namespace;
    return its outcome: {"value": encoded}, {"error": what was raised and where} or
    {"missing": names}.

    This is the only code that calls student code during a check. It never raises (but for
    KeyboardInterrupt): errors in the student's code come back as data. `params` are the
    probe's student names, computed where the probe was defined.
    """
    missing = [n for n in params if namespace.get(n) is None]
    if missing:
        return {"missing": missing}
    scope = {"__builtins__": builtins, "__name__": "probe", "math": math}
    try:
        import torch

        scope["torch"] = torch
        exec(compile(source, "<probe>", "exec") if isinstance(source, str) else source, scope)
        value = scope[name](**{n: namespace[n] for n in params}, **inputs)
        return {"value": codec.encode(value)}
    except BaseException as error:  # student code may raise anything, SystemExit included
        if isinstance(error, KeyboardInterrupt):
            raise
        return {"error": error_outcome(error)}


def answers_from_notebook(env, names):
    """In the student's kernel: `env` with the answers among `names` that no cell gives (not
    defined, or left as `...`) read from the notebook's markdown, as grading reads them
    (grader.submission.cells): from the saved file in Jupyter, from Colab's copy in Colab."""
    blank = [n for n in names if n not in ENGINE_NAMES and env.get(n, ...) is ...]
    if not blank or "_read_notebook" not in env:
        return env
    from grader.answers.boxes import read_boxes

    try:
        notebook = env["_read_notebook"]()
        found = read_boxes(notebook, notebook["metadata"]["backprop"]["boxes"])
    except Exception:  # noqa: BLE001 - no notebook to read: the names stay unanswered
        return env
    return {**env, **{name: found[name]["text"] for name in blank if name in found}}


# How IPython names the code of notebook cells: ipykernel's cell files, older kernels' inputs.
_KERNEL_CELL = re.compile(r"(?:ipykernel_\d+[/\\]\d+\.py|<ipython-input-[\w-]+>)$")


def kernel_sources(outcome, env):
    """In the student's kernel: {file name: (source, name)} of the notebook cells an error
    passed through (IPython keeps each cell's code in linecache). Provided cells are named by
    the heading they stand under, read from the notebook when the init cell can read it."""
    import linecache

    from grader.authoring.errors import kernel_label, protected_cells

    frames = (outcome.get("error") or {}).get("frames", [])
    cells = {f: "".join(linecache.getlines(f)) for f, _, _ in frames if _KERNEL_CELL.search(f)}
    headings = {}
    if any(source.lstrip().startswith("# Do not change") for source in cells.values()):
        try:
            notebook = env["_read_notebook"]()
            headings = {source.strip(): heading for heading, source in protected_cells(notebook)}
        except Exception:  # noqa: BLE001 - then the cell is named without its heading
            pass
    return {f: (source, kernel_label(source, headings)) for f, source in cells.items() if source}


def read_outcome(raw):
    """Validate a probe's outcome as it arrived (JSON, possibly forged). Never raises: a value
    that cannot be read becomes an error outcome for that case alone."""
    if isinstance(raw, dict) and set(raw) == {"value"}:
        try:
            return {"value": codec.decode(raw["value"])}
        except codec.InvalidData as error:
            return {"error": {"type": "", "text": f"The values your code produced could not be "
                                                  f"read ({error}).", "frames": []}}
        except Exception as error:  # noqa: BLE001 - forged data may break any constructor
            return {"error": {"type": "", "text": "The values your code produced could not be "
                                                  f"read ({type(error).__name__}).", "frames": []}}
    if isinstance(raw, dict) and set(raw) == {"error"}:
        return {"error": codec.read_error(raw["error"])}
    if (isinstance(raw, dict) and set(raw) == {"missing"} and isinstance(raw["missing"], list)
            and all(isinstance(n, str) for n in raw["missing"])):
        return {"missing": [n[:100] for n in raw["missing"][:50]]}
    return {"error": {"type": "", "text": "The values your code produced could not be read "
                                          "(unexpected outcome).", "frames": []}}
