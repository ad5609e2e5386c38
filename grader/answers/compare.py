"""The comparisons of written answers with the key: big-O bounds and exact values.

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

Modules: parse (text -> trees), evaluate (numbers from trees, exact equality), bigo and
values (the two comparisons), boxes (answers written in the notebook's markdown).

How an answer is read, as a TA reads it:

* A chain "A = B = C" is judged by its last member.  An earlier member counts against
  the answer only when it is a closed expression (numbers, constants, functions of
  numbers) that provably differs from the last one ("1/3 = 0.5").  A member that uses the
  exercise's own names (nodes a..e, x, z; n, b, d; T_run, W_1, \\sum, \\sigma) or notation
  the reader does not know is a step of the derivation, never held against the student
  (a letter e not raised to a power counts as the node e there, not as Euler's number).
* Alternatives "A or B", "A, i.e. B" are right when every alternative is right.
* Prose around the formula is dropped; text with program syntax ("if ... else") is not
  prose, and makes the answer unreadable.
* Written exactly (no decimal point), a value must be exactly equal (evaluate.equal:
  interval arithmetic; an answer too costly to decide that way is "invalid"); decimals,
  and only decimals, get a tolerance of DECIMAL_RTOL.
Rejected answers say how they were read ("read as log(1)/2"), never what was expected.
The public check (readable_*) says how the answer was read and never whether it is right.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import bigo, values
from .evaluate import NotFinite, TooCostly, evaluate
from .parse import (MAX_ALTERNATIVES, MAX_LENGTH, PROSE_ONLY, ProseOnly, Unreadable,
                    answer_members, answer_text, clean, quote, show)
from .values import DECIMAL_RTOL

__all__ = ["DECIMAL_RTOL", "KINDS", "RIGHT", "Verdict", "compare_bigo", "compare_value",
           "readable_bigo", "readable_value"]

# Every Verdict.kind, and what it means.  Verdict.correct is True exactly for RIGHT and "readable".
KINDS = {
    "equal": "a value answer equal to the expected value (exactly; a decimal that is exact too)",
    "equivalent": "a big-O answer that is the same bound up to constant factors",
    "close": f"a value answer with decimals within {DECIMAL_RTOL:.1%} of the expected value",
    "readable": "public check only: the answer can be read; whether it is right is not judged",
    "unanswered": "the placeholder is left as it is: None, ..., '?', empty, or the template's "
                  "O(TODO: fill me in); words or a half-filled answer are \"invalid\"",
    "invalid": "the answer cannot be read as a formula; the feedback says why",
    "inconsistent": "members of a chain A = B = C provably differ, so it cannot be right",
    "different": "a value answer that is not equal to the expected value",
    "too loose": "a big-O bound larger than the expected one in some regime of n, b, d",
    "too tight": "a big-O bound smaller than the expected one in some regime of n, b, d",
    "incomparable": "a big-O bound neither above nor below the expected one in every regime",
}
RIGHT = frozenset({"equal", "equivalent", "close"})


@dataclass(frozen=True)
class Verdict:
    correct: bool
    kind: str
    feedback: str


_CORRECT = "Correct."
_UNANSWERED = Verdict(False, "unanswered", "No answer yet: replace the placeholder with your answer.")
_FEEDBACK = {
    "too loose": "Your bound is larger than necessary: in some regime of n, b and d (when one of "
                 "them is much larger than the others) it overestimates the true cost.",
    "too tight": "Your bound is too small: some regime of n, b, d makes the true cost grow faster.",
    "incomparable": "Your bound is neither an upper nor a lower bound in every regime: "
                    "it over-counts some terms and misses others.",
    "different": "Not equal to the expected value.",
    "inconsistent": "The members of your chain of equalities are not all equal, so it cannot be right.",
}
_CLOSE = (f"Accepted: your decimal is within {DECIMAL_RTOL:.1%} of the exact value "
          "(an exact expression is preferred).")
_DECIMAL_OFF = (f"Your decimal is not within {DECIMAL_RTOL:.1%} of the exact value; give an exact "
                "expression (fractions, log, exp, ...) or a closer decimal.")
_ORDINALS = ("first", "second", "third", "fourth")
assert len(_ORDINALS) >= MAX_ALTERNATIVES, "name every alternative an answer may give"
_NAMES_ONLY = re.compile(r"[A-Za-z_{}\\'\s-]*")     # "T_run", "I", "'t": words and names
_MAX_SHOWN = 160                                   # characters of a reading shown

# ------------------------------------------------------------- reading


def _read_member(member, read):
    """(text, reading) for the first piece of mathematics of a member that reads, else for
    the whole member; a member of words and names only is not a formula."""
    errors = []
    for text in member.texts + ([member.full] if member.full else []):
        try:
            return text, read(text)
        except Unreadable as error:
            errors.append(error)
    if member.full is None and member.texts:
        raise errors[0]
    if all(_NAMES_ONLY.fullmatch(text) for text in member.texts):
        raise ProseOnly(PROSE_ONLY)
    # A word inside the formula's brackets ("O(n \text{layers})") was no prose: the whole
    # member's error names it.
    error = errors[-1] if _unbalanced(member.texts[0]) else errors[0]
    raise Unreadable(f"Could not read as a formula: {error}")


def _unbalanced(text):
    return any(text.count(opening) != text.count(closing) for opening, closing in ("()", "[]", "{}"))


def _read_chain(members, read):
    """[(text, reading)] for the members of a chain that read; the last one is the answer.

    A member that cannot be read is a step of the derivation unless it is the last.  An
    explanation after a member's formula ends the answer there: in "1/4 since dz/dd = e/2"
    the answer is 1/4.
    """
    readings = []
    for i, member in enumerate(members):
        try:
            text, reading = _read_member(member, read)
        except Unreadable:
            if i == len(members) - 1:
                raise
            continue
        readings.append((text, reading))
        if member.ends and text == member.texts[0]:
            break
    return readings


def _read(answer, context, read, references=()):
    """(Verdict, None) for a placeholder or unreadable answer, else (None, chains): the
    readings of each alternative's chain."""
    try:
        text = answer_text(answer)
        found = None if text is None else answer_members(text, context)
        if not found:
            return _UNANSWERED, None
        chains = []
        for k, members in enumerate(found):
            try:
                chains.append(_read_chain(members, read))
            except Unreadable as error:
                if len(found) == 1:
                    raise
                raise Unreadable(f"Your answer gives {len(found)} alternatives, and the "
                                 f"{_ORDINALS[k]} cannot be read: {error}") from None
        return None, chains
    except Unreadable as error:
        return _invalid(error, answer, references), None
    except (RecursionError, ArithmeticError, TypeError, ValueError, NotFinite):
        # sympy refuses some constructions (e.g. max of complex numbers) with these.
        return Verdict(False, "invalid", "Could not read the answer."), None


def _read_reference(reference, context, read):
    verdict, chains = _read(reference, context, read)
    if verdict is not None:
        raise ValueError(f"reference answer {reference!r} cannot be read: {verdict.feedback}")
    return chains[0][-1][1]

# ------------------------------------------------------------ feedback


def _shorten(text):
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN - 1] + "…"


def _reading(trees, big_o):
    return _shorten(" = ".join(f"O({show(tree)})" if big_o else show(tree) for tree in trees))


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


def _verdict(results, references):
    """One Verdict from the (kind, feedback) of each alternative: right when all are."""
    n = len(results)
    wrong = [(k, kind, feedback) for k, (kind, feedback) in enumerate(results) if kind not in RIGHT]
    if wrong:
        k, kind, feedback = wrong[0]
        if n > 1:
            feedback = (f"Your answer gives {n} alternatives; it is right only if every one is "
                        f"right, and the {_ORDINALS[k]} is not. {feedback}")
        return Verdict(False, kind, feedback)
    kind = "close" if any(kind == "close" for kind, _ in results) else results[0][0]
    feedback = _CLOSE if kind == "close" else _CORRECT
    if n > 1:
        feedback = f"Correct: each of your {n} alternatives is right." + \
            (f" {_CLOSE}" if kind == "close" else "")
    return Verdict(True, kind, feedback)


def _readable(chains, big_o):
    """The public check's verdict: how the answer was read, not whether it is right."""
    last = [chain[-1][1] for chain in chains]
    trees = [reading[1] if big_o else reading[0] for reading in last]
    reading = " or ".join(_reading([tree], big_o) for tree in trees)
    return Verdict(True, "readable", f"read as {reading}; correctness is graded after you submit")


def _safely(judge):
    """judge(), or an "invalid" Verdict when the answer cannot be evaluated after all."""
    try:
        return judge()
    except TooCostly as error:
        return Verdict(False, "invalid", str(error))
    except (RecursionError, ArithmeticError, TypeError, ValueError, NotFinite):
        return Verdict(False, "invalid", "Could not evaluate the answer.")

# ------------------------------------------------------------ big-O answers


def _judge_bounds(chain, expected, references):
    """(kind, feedback) of one alternative's chain of bounds."""
    last, last_tree, _ = chain[-1][1]
    for _, (terms, tree, closed) in chain[:-1]:
        if closed and bigo.judge(terms, last) != "equivalent":
            reading = _reading([tree, last_tree], big_o=True)
            return "inconsistent", _with_reading(_FEEDBACK["inconsistent"], reading, references)
    kind = bigo.judge(last, expected)
    return kind, _with_reading(_FEEDBACK.get(kind), _reading([last_tree], big_o=True), references)


def compare_bigo(answer, reference) -> Verdict:
    """Is the answer the same bound as the reference, up to constant factors?"""
    expected, expected_tree, _ = _read_reference(reference, bigo.CONTEXT, bigo.read)
    references = (str(reference), f"O({show(expected_tree)})", show(expected_tree))
    verdict, chains = _read(answer, bigo.CONTEXT, bigo.read, references)
    if verdict is not None:
        return verdict
    return _safely(lambda: _verdict([_judge_bounds(chain, expected, references) for chain in chains],
                                    references))


def readable_bigo(answer) -> Verdict:
    verdict, chains = _read(answer, bigo.CONTEXT, bigo.read)
    return verdict or _safely(lambda: _readable(chains, big_o=True))

# ------------------------------------------------------------- value answers


def _key(answer):
    """The answer as the text that, with the reference and the seed, picks the points."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, int) and answer.bit_length() > 3 * MAX_LENGTH:
        return "a large integer"
    return repr(answer)[:MAX_LENGTH]


def _judge_values(chain, expected, where, references, work):
    """(kind, feedback) of one alternative's chain of values; `work` bounds the exact checks
    of the whole answer (see values.judge)."""
    last, last_decimals, _ = chain[-1][1]
    for _, (tree, decimals, closed) in chain[:-1]:
        if closed and values.judge(tree, last, where, decimals + last_decimals, work) == "different":
            reading = _reading([tree, last], big_o=False)
            return "inconsistent", _with_reading(_FEEDBACK["inconsistent"], reading, references)
    kind = values.judge(last, expected, where, last_decimals, work)
    feedback = _DECIMAL_OFF if last_decimals else _FEEDBACK["different"]
    return kind, _with_reading(feedback, _reading([last], big_o=False), references)


def compare_value(answer, reference, *, seed=None) -> Verdict:
    """Is the answer equal to the reference (a number, or a formula in x)?

    Formulas are compared at fixed points and at random points drawn from `seed` together
    with the answer and the reference (see values.points); the same inputs give the same verdict.
    """
    expected, _, _ = _read_reference(reference, values.context(("x",)),
                                     lambda text: values.read(text, ("x",)))
    variables = ("x",) if expected.free_symbols else ()
    where = values.points(_key(answer), str(reference), seed) if variables else (None,)
    try:
        for p in where:
            evaluate(expected, p)
    except NotFinite:
        raise ValueError(f"reference answer {reference!r} cannot be evaluated") from None
    references = (str(reference), show(expected))
    verdict, chains = _read(answer, values.context(variables),
                            lambda text: values.read(text, variables), references)
    if verdict is not None:
        return verdict
    work = [0]
    return _safely(lambda: _verdict([_judge_values(chain, expected, where, references, work)
                                     for chain in chains], references))


def readable_value(answer, variables=()) -> Verdict:
    variables = tuple(variables)
    verdict, chains = _read(answer, values.context(variables), lambda text: values.read(text, variables))
    return verdict or _safely(lambda: _readable(chains, big_o=False))
