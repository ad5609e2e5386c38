"""Grading of written answers by meaning: big-O bounds and exact values.

    compare_bigo(answer, reference)            -> Verdict   O(n b d^2) vs O(nbd^2 + nbd)
    compare_value(answer, reference, seed=None) -> Verdict   "log 2" vs "\\ln 2", sinh(x) vs ...
    readable_bigo(answer), readable_value(answer, variables=())  -> Verdict (can it be read?)

Why hand-written rather than sympy's own tools:

* sympy's exact linear programming (``linprog``/``lpmin`` in sympy.solvers.simplex) has a
  known bug in its first phase: on some infeasible problems it reports an optimum or
  loops (sympy issue #28089).  Deciding big-O is exactly such a feasibility question, so
  bigo.py carries a small exact simplex with Bland's rule, which cannot cycle.
* ``parse_expr`` / ``sympify`` evaluate their input (eval of Python code, and sympy's
  automatic simplification can be led into unbounded work): student text must never be
  evaluated, so parse.py builds trees through constructors with evaluate=False.
* sympy's LaTeX parser needs a pinned antlr4 runtime and reads ``\\mathcal{O}(n)`` as a
  product of a symbol O and n.

Modules: parse (text -> trees), evaluate (numbers from trees), bigo and values (the two
comparisons), boxes (answers written in the notebook's \\boxed{} cells).

A chain "A = B = C" is judged on its last member, and is wrong if its members differ; a
first member that is a name ("a =", "T_{run} =", "\\frac{dz}{dx} =") is a label.
Rejected answers say how they were read ("read as log(1)/2"), never what was expected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import bigo, values
from .evaluate import NotFinite, evaluate
from .parse import MAX_LENGTH, Unreadable, answer_text, clean, members, quote, show
from .values import DECIMAL_RTOL

__all__ = ["DECIMAL_RTOL", "Verdict", "compare_bigo", "compare_value", "readable_bigo",
           "readable_value"]


@dataclass(frozen=True)
class Verdict:
    correct: bool
    kind: str
    feedback: str


_CORRECT = "Correct."
_UNANSWERED = Verdict(False, "unanswered", "No answer yet: replace the placeholder with your answer.")
_READABLE = Verdict(True, "readable", "Your answer is filled in and can be read; it is graded later.")
_BIGO_FEEDBACK = {
    "too loose": "Your bound is larger than necessary: in some regime of n, b and d (when one of "
                 "them is much larger than the others) it overestimates the true cost.",
    "too tight": "Your bound is too small: some regime of n, b, d makes the true cost grow faster.",
    "incomparable": "Your bound is neither an upper nor a lower bound in every regime: "
                    "it over-counts some terms and misses others.",
}
_DIFFERENT = "Not equal to the expected value."
_CLOSE = (f"Accepted: your decimal is within {DECIMAL_RTOL:.1%} of the exact value "
          "(an exact expression is preferred).")
_DECIMAL_OFF = (f"Your decimal is not within {DECIMAL_RTOL:.1%} of the exact value; give an exact "
                "expression (fractions, log, exp, ...) or a closer decimal.")
_INCONSISTENT = "The members of your chain of equalities are not all equal, so it cannot be right."
_LABEL = re.compile(r"\s*([A-Za-z])\s*(?:_\s*(?:\{[^{}]*\}|\w+))?\s*'*\s*")   # a, e, T_{run}, f'



# ------------------------------------------------------------- reading chains


def _is_label(text, context):
    """May this unreadable first member of a chain be a name ('T_{run}', '\\frac{dz}{dx}')?
    Not if it is written as a bound O(...): then it is a wrong answer."""
    if context.big_o and re.search(r"(?<![A-Za-z])(?:O|Theta|\\Theta)\s*\(", text):
        return False
    return True


def _read_member(member, read):
    """read(member's text); prose is dropped only when what remains can be read."""
    try:
        return read(member.text)
    except Unreadable:
        if member.full is None:
            raise
        return read(member.full)


def _read_chain(text, context, read):
    """[(member's text, reading)] for a chain (labels dropped), or None for a placeholder.

    Prose ends the chain: in "1/4 since dz/dd = e/2" the answer is 1/4.
    """
    found = members(text, context)
    if found is None:
        return None
    readings = []
    for i, member in enumerate(found):
        label = i == 0 and len(found) > 1
        name = _LABEL.fullmatch(member.text)
        if label and name and context.variable(name.group(1)) is None:
            continue        # "e = 1/2": the name of the quantity, not Euler's number
        if member.full is not None and i < len(found) - 1:
            try:
                readings.append((member.text, read(member.text)))
                return readings
            except Unreadable:
                pass
        try:
            readings.append((member.text, _read_member(member, read)))
        except Unreadable:
            if label and _is_label(member.text, context):
                continue
            raise
    return readings


def _reading(trees, big_o):
    return " = ".join(f"O({show(tree)})" if big_o else show(tree) for tree in trees)


def _compact(text):
    return re.sub(r"\s+", "", text)


def _reveals(feedback_part, references):
    """Would this part of the feedback show the expected answer (as written or as read)?"""
    part = _compact(feedback_part)
    return any(ref and _compact(ref) in part for ref in references)


def _with_reading(feedback, reading, references):
    if reading and not _reveals(reading, references):
        return f"{feedback} Your answer was read as {reading}."
    return feedback


def _invalid(error, answer, references):
    """Verdict for an unreadable answer; shows the cleaned text when cleaning changed it."""
    feedback = str(error)
    if isinstance(answer, str) and len(answer) <= MAX_LENGTH:
        try:
            cleaned = clean(answer)
        except Unreadable:
            cleaned = None
        if cleaned and _compact(cleaned) != _compact(answer) and not _reveals(cleaned, references):
            feedback += f" (Your answer was read as {quote(cleaned)}.)"
    return Verdict(False, "invalid", feedback)


def _read(answer, context, read, references=()):
    """(Verdict, None) for a placeholder or unreadable answer, else (None, readings)."""
    try:
        text = answer_text(answer)
        readings = None if text is None else _read_chain(text, context, read)
        if not readings:
            return _UNANSWERED, None
        return None, readings
    except Unreadable as error:
        return _invalid(error, answer, references), None
    except (RecursionError, ArithmeticError, TypeError, ValueError, NotFinite):
        # sympy refuses some constructions (e.g. max of complex numbers) with these.
        return Verdict(False, "invalid", "Could not read the answer."), None


def _read_reference(reference, context, read):
    verdict, readings = _read(reference, context, read)
    if verdict is not None:
        raise ValueError(f"reference answer {reference!r} cannot be read: {verdict.feedback}")
    return readings[-1][1]

# ------------------------------------------------------------ big-O answers


def _read_bounds(answer, references=()):
    verdict, readings = _read(answer, bigo.CONTEXT, bigo.read, references)
    if verdict is None and len(readings) > 1:
        if any(bounds == 0 for _, (_, _, bounds) in readings):
            reading = " = ".join(text.strip() for text, _ in readings)
            feedback = ("An equation such as 'f = O(g)' is a statement about f; give only the bound, "
                        "written as O(...).")
            return Verdict(False, "invalid", _with_reading(feedback, quote(reading), references)), None
        last = readings[-1][1][0]
        if any(bigo.judge(terms, last) != "equivalent" for _, (terms, _, _) in readings[:-1]):
            reading = _reading([tree for _, (_, tree, _) in readings], big_o=True)
            return Verdict(False, "inconsistent", _with_reading(_INCONSISTENT, reading, references)), None
    return verdict, readings


def compare_bigo(answer, reference) -> Verdict:
    """Is the answer the same bound as the reference, up to constant factors?"""
    expected, expected_tree, _ = _read_reference(reference, bigo.CONTEXT, bigo.read)
    references = (str(reference), f"O({show(expected_tree)})", show(expected_tree))
    verdict, readings = _read_bounds(answer, references)
    if verdict is not None:
        return verdict
    kind = bigo.judge(readings[-1][1][0], expected)
    if kind == "equivalent":
        return Verdict(True, kind, _CORRECT)
    reading = _reading([readings[-1][1][1]], big_o=True)
    return Verdict(False, kind, _with_reading(_BIGO_FEEDBACK[kind], reading, references))


def readable_bigo(answer) -> Verdict:
    verdict, _ = _read_bounds(answer)
    return verdict or _READABLE

# ------------------------------------------------------------- value answers


def _key(answer):
    """The answer as the text that, with the reference and the seed, picks the points."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, int) and answer.bit_length() > 3 * MAX_LENGTH:
        return "a large integer"
    return repr(answer)[:MAX_LENGTH]


def _read_values(answer, variables, where=None, references=()):
    """Readings of a value answer whose chain members agree, else a Verdict."""
    context = values.context(variables)
    verdict, readings = _read(answer, context, lambda text: values.read(text, variables), references)
    if verdict is None and len(readings) > 1:
        if where is None:
            where = values.points(_key(answer), "", None) if variables else (None,)
        last, last_decimals = readings[-1][1]
        for _, (tree, decimals) in readings[:-1]:
            if values.judge(tree, last, where, decimals + last_decimals, exact=False) == "different":
                reading = _reading([tree for _, (tree, _) in readings], big_o=False)
                return Verdict(False, "inconsistent", _with_reading(_INCONSISTENT, reading, references)), None
    return verdict, readings


def compare_value(answer, reference, *, seed=None) -> Verdict:
    """Is the answer equal to the reference (a number, or a formula in x)?

    Formulas are compared at fixed points and at random points drawn from `seed` together
    with the answer and the reference (see values.points); the same inputs give the same verdict.
    """
    expected, _ = _read_reference(reference, values.context(("x",)), lambda text: values.read(text, ("x",)))
    variables = ("x",) if expected.free_symbols else ()
    where = values.points(_key(answer), str(reference), seed) if variables else (None,)
    try:
        for p in where:
            evaluate(expected, p)
    except NotFinite:
        raise ValueError(f"reference answer {reference!r} cannot be evaluated") from None
    references = (str(reference), show(expected))
    verdict, readings = _read_values(answer, variables, where, references)
    if verdict is not None:
        return verdict
    given, decimals = readings[-1][1]
    kind = values.judge(given, expected, where, decimals)
    if kind == "equal":
        return Verdict(True, kind, _CORRECT)
    if kind == "close":
        return Verdict(True, kind, _CLOSE)
    feedback = _DECIMAL_OFF if decimals else _DIFFERENT
    return Verdict(False, kind, _with_reading(feedback, _reading([given], big_o=False), references))


def readable_value(answer, variables=()) -> Verdict:
    verdict, _ = _read_values(answer, tuple(variables))
    return verdict or _READABLE
