"""Answers the way students of HW1.2 write them, graded as a TA reads them (the issue "What
still differs from a TA's reading").  Each row: the check, the answer, the reference (the
master notebook's key), the verdict, and pieces the feedback must show.

Verdicts: "correct" (kind in RIGHT), "incorrect" (read, and wrong), "unreadable" (kind
"invalid"), "unanswered" (the placeholder as it was).  No feedback may show the key,
neither as written nor as read.  Answers in boxes and in display math that replaced the
boxes are in tests/test_boxes.py; the chains and alternatives below are what such boxes hold.
benchmarks/answers_speed.py imports CASES and ADVERSARIAL from this file.
"""
import re
import time

import pytest

from grader.answers.compare import (KINDS, RIGHT, Verdict, compare_bigo, compare_value, readable_bigo,
                            readable_value)
from grader.answers import bigo, values
from grader.answers.parse import show

B, V = "compare_bigo", "compare_value"
# The master notebook's keys (reference/HW1.2_Backpropagation.ipynb).
T_RUN, T_BACKWARD = "O(n b d^2)", "O(n b d^2)"
M_RUN, M_FORWARD = "O(b d)", "O(n b d)"
M_BACKWARD, M_BACKWARD_W1 = "O(n b d + n d^2)", "O(n b d + d^2)"
FWD_A, FWD_D, FWD_E, FWD_Z = "log 2", "-log 2", "1/2", "5/4"
DZ_DE, DZ_DD, DZ_DC, DZ_DA, DZ_DX, DZ_DX_FORMULA = "1/2", "1/4", "-1/4", "1", "3/4", "sinh(x)"
CHAIN = "not all equal"
ALTERNATIVES = "2 alternatives"
FORMULA = "Could not read as a formula"
CODE = "program syntax"
CONDITIONAL = "if ... else' makes the answer conditional"

DERIVATIONS = [
    # The chain through \sum and \sigma, judged by its last member.
    (B, r"\sum_{i=1}^n \left( T_{\text{mm}} + T_{\sigma} \right) = n \left[ O(bd^2) + O(bd) "
        r"\right] = O(nbd^2)", T_RUN, "correct", []),
    (B, r"T_{\text{run}} = \sum_{i=1}^{n} \left( T_{\text{mm}} + T_{\sigma} \right) = n \cdot "
        r"O(bd^2) = O(nbd^2)", T_RUN, "correct", []),
    (B, r"n \cdot (2 T_{\text{mm}} + 2 T_{\sigma}) = O(n b d^2)", T_BACKWARD, "correct", []),
    (B, r"\sum_{i=1}^{n} O(bd) = O(nbd)", M_FORWARD, "correct", []),
    (B, r"\underbrace{\sum_{i=1}^n |x_i|}_{\text{activations}} + \underbrace{\sum_{i=1}^n "
        r"|\nabla_{W_i} \mathcal{L}|}_{\text{gradients}} = O(nbd + nd^2)", M_BACKWARD, "correct", []),
    (B, r"M_{\text{backward-for-}W_1} = \sum_{i=1}^n |x_i| + |W_1| = O(nbd) + O(d^2) = O(nbd + d^2)",
     M_BACKWARD_W1, "correct", []),
    # A step in n, b, d is never held against the answer, even one that looks wrong.
    (B, r"n \cdot O(bd) = O(nbd^2)", T_RUN, "correct", []),
    # ... but the last member is the answer.
    (B, r"\sum_{i=1}^n \left( T_{\text{mm}} + T_{\sigma} \right) = O(nbd)", T_RUN, "incorrect",
     ["too small", "O(n·b·d)"]),
    (B, r"\sum_{i=1}^n M_{\text{act}} = n \cdot M_{\text{act}}", M_FORWARD, "unreadable", ["M_act"]),
    # A closed member that provably differs from the last one makes the chain wrong.
    (B, "O(1) = O(nbd)", M_FORWARD, "incorrect", [CHAIN]),
    # The chain through the node e (not Euler's number).
    (V, r"\tfrac{1}{2} \cdot e = \tfrac{1}{2} \cdot \tfrac{1}{2} = \tfrac{1}{4}", DZ_DD, "correct", []),
    (V, r"\frac{\partial z}{\partial d} = \frac{1}{2} e = \frac{1}{4}", DZ_DD, "correct", []),
    (V, r"\frac{\partial z}{\partial c} = -\frac{\partial z}{\partial d} = -\frac{1}{4}", DZ_DC,
     "correct", []),
    (V, r"z = \frac{b + e}{2} = \frac{2 + \frac{1}{2}}{2} = \frac{5}{4}", FWD_Z, "correct", []),
    (V, r"\frac{e^{a} + e^{d}}{2} = \frac{2 + 0.5}{2} = 1.25", FWD_Z, "correct", []),
    (V, r"\frac{\partial z}{\partial a} = \frac{\partial z}{\partial b} \cdot b = \frac{1}{2} "
        r"\cdot 2 = 1", DZ_DA, "correct", []),
    (V, r"\frac{d}{dx} \frac{e^x + e^{-x}}{2} = \frac{e^x - e^{-x}}{2} = \sinh x", DZ_DX_FORMULA,
     "correct", []),
    (V, r"x = \log 2 \Rightarrow e = e^{-x} = \frac{1}{2}", FWD_E, "correct", []),
    (V, "dz/da + dz/dc = 1 - 1/4 = 3/4", DZ_DX, "correct", []),
    # In a code cell without r"": "\t" of "\tfrac" arrives as a tab.
    (V, "\tfrac{1}{2} \\cdot e = \tfrac{1}{2} \\cdot \tfrac{1}{2} = \tfrac{1}{4}", DZ_DD, "correct",
     []),
    # Closed members (numbers, e^{...}) that differ: wrong, whatever the last member.
    (V, r"\tfrac{1}{2} \cdot e = \tfrac{1}{2} \cdot \tfrac{1}{3} = \tfrac{1}{4}", DZ_DD, "incorrect",
     [CHAIN]),
    (V, r"e^{-\log 2} = \frac{1}{3}", FWD_E, "incorrect", [CHAIN, "e^(-log(2)) = 1/3"]),
    (V, r"\frac{5}{4} = 1.3", FWD_Z, "incorrect", [CHAIN]),
    (V, r"\tfrac{1}{2} \cdot e = \tfrac{1}{2} \cdot \tfrac{1}{2} = \tfrac{1}{8}", DZ_DD, "incorrect",
     [CHAIN, "1/8"]),
]

ALTERNATIVE_ROWS = [
    # The alternatives in prose: both equal to -log 2.
    (V, r"\text{-log2 or log(0.5)}", FWD_D, "correct", ["each of your 2 alternatives is right"]),
    (V, r"-\log 2 \text{ or } \log(0.5)", FWD_D, "correct", []),
    (V, "\text{-log2 or log(0.5)}", FWD_D, "correct", []),         # without r"": a tab
    (V, r"\log\frac{1}{2} \quad \text{(or } -\log 2\text{)}", FWD_D, "correct", []),
    (V, r"\frac{1}{2}, i.e. 0.5", DZ_DE, "correct", []),
    (V, "0.5 (or 1/2)", DZ_DE, "correct", []),
    (V, r"-0.693 \text{ or } -\log 2", FWD_D, "correct", ["within 0.5%"]),
    (B, r"O(nbd^2) \text{ or equivalently } \Theta(n b d^2)", T_RUN, "correct", []),
    # Wrong when any alternative is wrong, and the feedback says which.
    (V, r"\log 2 \text{ or } -\log 2", FWD_D, "incorrect", [ALTERNATIVES, "first is not"]),
    (V, "1/2, i.e. 0.6", DZ_DE, "incorrect", [ALTERNATIVES, "second is not", "read as 0.6"]),
    (B, "O(nbd) or O(nbd^2)", T_RUN, "incorrect", [ALTERNATIVES, "first is not", "O(n·b·d)"]),
    (B, r"O(n b d + n d^2) \text{ or } O(nbd)", M_BACKWARD, "incorrect", ["second is not"]),
    (B, r"O(nbd^2) \text{ or } O(n_{layers} d^2)", T_RUN, "unreadable",
     [ALTERNATIVES, "second cannot be read", "n_layers"]),
    # "or" inside prose is a word, not an alternative.
    (B, r"O(nbd^2) \text{ or so}", T_RUN, "correct", []),
    (B, r"O(nbd + d^2) \quad \text{since one or two buffers of size } d^2 \text{ are kept}",
     M_BACKWARD_W1, "correct", []),
]

NOTATION = [
    # Lowercase \theta for Theta.
    (B, r"\theta(nbd^2)", T_RUN, "correct", []),
    (B, "theta(n b d^2)", T_RUN, "correct", []),
    (B, r"\theta(n b d)", T_RUN, "incorrect", ["too small", "O(n·b·d)"]),
    # Whitespace does not count toward the length cap.
    (B, "O(n b d^2)" + " " * 5_000, T_RUN, "correct", []),
    (V, "\n" * 1_000 + r"\frac{1}{4}" + " \t" * 2_000, DZ_DD, "correct", []),
    (B, "O(n" + " " * 3_000 + "b d^2)", T_RUN, "correct", []),
    (B, "O(" + "n " * 1_001 + ")", T_RUN, "unreadable", ["too long"]),
    (B, "n" * 2_001, T_RUN, "unreadable", ["too long"]),
    # A long product is read and shown, shortened.
    (B, "O(" + "n" * 290 + ")", T_RUN, "incorrect", ["read as O(n·n·n·n", "…"]),
    (V, "x" * 290, DZ_DX_FORMULA, "incorrect", ["read as x·x·x", "…"]),
    (V, "e^{" + "x" * 280 + "}", DZ_DX_FORMULA, "incorrect", []),
]

EXACTNESS = [
    # Text after the answer that is neither prose nor formula.
    (B, "O(nbd^2) if n > 0 else 0", T_RUN, "unreadable", [FORMULA, CONDITIONAL]),
    (B, "O(nbd^2) if __import__('os').system('ls') else 0", T_RUN, "unreadable", [FORMULA, CODE]),
    (B, "O(nbd^2) if len(layers) else O(1)", T_RUN, "unreadable", [CONDITIONAL]),
    (B, r"O(nbd^2) \text{ if we keep the graph, else } O(bd)", T_RUN, "unreadable", [CONDITIONAL]),
    (B, "O(nbd^2); import os", T_RUN, "unreadable", ["'import' is " + CODE]),
    (V, "log(2) if x else 0", FWD_A, "unreadable", [CONDITIONAL]),
    (V, "np.log(2) + x.exp()", FWD_A, "unreadable", [CODE]),
    (B, "O(nbd^2) for all the layers together", T_RUN, "correct", []),      # prose stays prose
    (B, r"O(bd) \text{, since only the current activations are kept}", M_RUN, "correct", []),
    # Exact answers off by a tiny exact amount are not equal.
    (V, "log 2 + 10^{-40}", FWD_A, "incorrect", ["Not equal"]),
    (V, r"\log 2 + 10^{-40}", FWD_A, "incorrect", []),
    (V, r"-\log 2 - 10^{-50}", FWD_D, "incorrect", []),
    (V, r"\frac{1}{4} + 10^{-45}", DZ_DD, "incorrect", []),
    (V, r"\log 2 + (10^{-50})^{3}", FWD_A, "incorrect", []),
    (V, r"\log 2 + 10^{-50} \cdot 10^{-50}", FWD_A, "incorrect", []),
    (V, "log 2 + 1e-40", FWD_A, "incorrect", []),           # e-notation without a point is exact
    (V, r"\frac{5}{4} + \frac{1}{10^{40}}", FWD_Z, "incorrect", []),
    (V, "sinh(x) + 10^{-40}", DZ_DX_FORMULA, "incorrect", []),
    (V, r"\frac{e^x - e^{-x}}{2} + 10^{-30} x", DZ_DX_FORMULA, "incorrect", []),
    (V, r"\sinh(x) (1 + 10^{-45})", DZ_DX_FORMULA, "incorrect", []),
    (V, r"\sinh(x) + e^{-40} - e^{-40}", DZ_DX_FORMULA, "correct", []),       # exactly equal
    (V, r"\log 2 + (10^{-50})^{3} - 10^{-50} \cdot 10^{-50} \cdot 10^{-50}", FWD_A, "correct", []),
    # Decimals, and only decimals, get the tolerance.
    (V, "0.693", FWD_A, "correct", ["within 0.5%"]),
    (V, "0.6931471805599453", FWD_A, "correct", []),
    (V, "1.25", FWD_Z, "correct", []),
    (V, "0.7", FWD_A, "incorrect", ["not within 0.5%"]),
]

KIND_ROWS = [
    # Prose that is not a formula is unreadable, never "no answer yet".
    (B, "same as T_run", T_RUN, "unreadable", [FORMULA]),
    (B, r"\text{same as } T_{\text{run}}", T_RUN, "unreadable", [FORMULA]),
    (V, "I don't know", FWD_A, "unreadable", [FORMULA]),
    (B, "The same as the forward pass", T_RUN, "unreadable", [FORMULA, "words"]),
    (V, "same as before", DZ_DE, "unreadable", [FORMULA]),
    (B, "O(nbd^2)?", T_RUN, "unreadable", ["placeholder"]),
    (V, r"\frac{1}{2} + \ldots", DZ_DE, "unreadable", ["placeholder"]),
    # The placeholder as it was.
    (B, None, T_RUN, "unanswered", ["No answer yet"]),
    (B, ..., T_RUN, "unanswered", []),
    (B, "", T_RUN, "unanswered", []),
    (B, r"O(\text{TODO: fill me in})", T_RUN, "unanswered", []),
    (V, r"\text{TODO}", FWD_A, "unanswered", []),
    (V, "...", FWD_A, "unanswered", []),
    # A note next to an answer is not the template's TODO.
    (B, r"O(nbd^2) \text{ TODO: double-check}", T_RUN, "correct", []),
]

CASES = DERIVATIONS + ALTERNATIVE_ROWS + NOTATION + EXACTNESS + KIND_ROWS
FUNCTIONS = {B: compare_bigo, V: compare_value}
WRONG = {"different", "inconsistent", "too loose", "too tight", "incomparable"}


def _id(case):
    return f"{case[0]}:{str(case[1])[:50]!r}"


def _key_readings(function, reference):
    """The key as the feedback could show it: as written, and as read."""
    if function == B:
        tree = bigo.read(reference)[1]
        return [reference, f"O({show(tree)})", show(tree)]
    return [reference, show(values.read(reference, ("x",))[0])]


def check(function, answer, reference, verdict, pieces):
    result = FUNCTIONS[function](answer, reference)
    assert isinstance(result, Verdict) and result.kind in KINDS and result.feedback
    expected = {"correct": RIGHT, "incorrect": WRONG, "unreadable": {"invalid"},
                "unanswered": {"unanswered"}}[verdict]
    assert result.kind in expected, result
    assert result.correct == (verdict == "correct"), result
    for piece in pieces:
        assert piece in result.feedback, (piece, result.feedback)
    if verdict != "correct":
        feedback = re.sub(r"\s", "", result.feedback)
        for key in _key_readings(function, reference):
            assert re.sub(r"\s", "", key) not in feedback, (key, result.feedback)
    if verdict == "unreadable" and FORMULA in pieces:
        assert result.feedback.startswith(FORMULA)
    return result


@pytest.mark.parametrize("function, answer, reference, verdict, pieces", CASES, ids=map(_id, CASES))
def test_answer(function, answer, reference, verdict, pieces):
    check(function, answer, reference, verdict, pieces)


def test_each_class_has_right_and_wrong_answers():
    for rows in (DERIVATIONS, ALTERNATIVE_ROWS, NOTATION, EXACTNESS):
        assert {"correct", "incorrect", "unreadable"} <= {row[3] for row in rows}
    assert {"unreadable", "unanswered"} <= {row[3] for row in KIND_ROWS}

# ------------------------------------------------------------ the public check


READABLE = [
    (readable_bigo, "O(nbd)", "read as O(n·b·d); correctness is graded after you submit"),
    (readable_bigo, r"\sum_{i=1}^n O(bd) = O(nbd)", "read as O(n·b·d); "),
    (readable_bigo, r"\theta(n b d^2)", "read as O(n·b·d^2); "),
    (readable_value, r"\text{-log2 or log(0.5)}", "read as -log(2) or log(0.5); "),
    (readable_value, r"\tfrac{1}{2} \cdot e = \tfrac{1}{2} \cdot \tfrac{1}{2} = \tfrac{1}{4}", "read as 1/4; "),
    # Wrong answers read the same way: the public check never tells right from wrong.
    (readable_value, "1/3 = 0.5", "read as 0.5; "),
    (readable_value, r"\log 2 \text{ or } -\log 2", "read as log(2) or -log(2); "),
    (readable_bigo, "O(1)", "read as O(1); "),
    (readable_bigo, "O(" + "n" * 290 + ")", "read as O(n·n·n·n"),
]


@pytest.mark.parametrize("check_, answer, start", READABLE, ids=[str(r[1])[:40] for r in READABLE])
def test_public_check_says_how_it_was_read(check_, answer, start):
    verdict = check_(answer)
    assert verdict == Verdict(True, "readable", verdict.feedback)
    assert verdict.feedback.startswith(start)
    assert verdict.feedback.endswith("; correctness is graded after you submit")
    for word in ("Correct", "correct.", "wrong", "not equal", "too small", "too large", "right"):
        assert word not in verdict.feedback


def test_public_check_refuses_prose_and_code():
    for check_ in (readable_bigo, readable_value):
        for answer in ("same as T_run", "I don't know"):
            verdict = check_(answer)
            assert verdict.kind == "invalid" and verdict.feedback.startswith(FORMULA), verdict
        assert check_("O(nbd^2) if n else 0").kind == "invalid"
        assert check_(None).kind == "unanswered" and check_("O(TODO)").kind == "unanswered"


def test_kinds_are_documented():
    assert RIGHT < set(KINDS)
    assert set(KINDS) == RIGHT | WRONG | {"readable", "unanswered", "invalid"}
    assert all(isinstance(meaning, str) and meaning for meaning in KINDS.values())

# ------------------------------------------------------------ bounded time


def test_every_answer_check_is_fast():
    slowest = max((_timed(lambda: FUNCTIONS[f](a, r)), a) for f, a, r, _, _ in CASES)
    assert slowest[0] < 0.1, slowest


def _timed(call):
    start = time.process_time()
    call()
    return time.process_time() - start


HEAVY = "+(10^{50})^3-(10^{50})^3+(10^{-50})^3-(10^{-50})^3"      # exact, and spans 300 digits


def _heavy(form, first, start="sinh(x)"):
    """An exact formula of 300 characters that the exact check must evaluate at 320 digits."""
    text, k = start + HEAVY, first
    while len(text + form.format(k=k)) <= 300:
        text, k = text + form.format(k=k), k + 1
    return text


ADVERSARIAL = [
    *(" or ".join(_heavy(form, 10 * i + 1) for i in range(4))
      for form in (r"+\tanh(x+{k})-\tanh({k}+x)", r"+\log({k}+x^2)-\log(x^2+{k})", "+e^{{x/{k}}}-e^{{x/{k}}}")),
    " = ".join(_heavy(r"+\tanh({k})-\tanh({k})", i, r"\log 2")[:240] for i in range(8)),
    " or ".join(["log 2"] * 5), " or ".join([r"\tanh(\log(\cosh(x)))"] * 4),
    " or ".join([r"\tanh(\tanh(\tanh(\tanh(x))))" + HEAVY] * 2),
    "+".join([r"\tanh(\log(\cosh(x)))"] * 4) + "-" + "-".join([r"\tanh(\log(\cosh(x)))"] * 4)
    + "+sinh(x)" + HEAVY,
    "=".join([r"(10^{50})^3 - (10^{50})^3 + \log 2 + (10^{-50})^3 - (10^{-50})^3"] * 4),
    "=".join([r"\log 2"] * 8), "=".join([r"\log 2"] * 9), " or ".join(["=".join([r"\log 2"] * 8)] * 4),
    r"\sum_{i=1}^n " * 40 + "= O(nbd)", r"\sum_{i=1}^{n}" * 130,
    " " * 199_999 + "n", " " * 300_000 + "n", "\t\n" * 90_000 + "O(nbd)", "n" + " " * 150_000 + "b",
    "if " * 600 + "else", "i.e. " * 400, "or " * 600, "x or " * 400, "__" * 1_000, "lambda " * 280,
    r"\theta(" * 60 + "n" + ")" * 60, "theta" * 400, "O(" + "n" * 296 + ")", "e" * 300,
    r"\tfrac{1}{2} \cdot e = " * 7 + r"\tfrac14", r"\text{a or b or c or d or e}",
    r"\text{" + "or " * 500 + "}", "$" + " or ".join(["$x$"] * 300) + "$",
    "1 ? 2" * 300, "?" * 1_000 + "1", r"\log 2 + " + r"\ldots" * 100,
    r"\underbrace{" * 100 + "n" + "}" * 100 + "= O(n)",
]
CALLS = [
    lambda a: compare_value(a, FWD_A), lambda a: compare_value(a, DZ_DX_FORMULA),
    lambda a: compare_bigo(a, M_BACKWARD), lambda a: compare_bigo(a, T_RUN),
    lambda a: readable_value(a, ("x",)), lambda a: readable_bigo(a),
]


def test_costly_exact_checks_are_refused_with_a_reason():
    """Exact equality of formulas that span 300 digits, four times over: refused within the
    work bound, with a reason, not left to run."""
    verdict = compare_value(ADVERSARIAL[0], DZ_DX_FORMULA)
    assert verdict.kind == "invalid" and "too costly" in verdict.feedback
    assert compare_value(_heavy(r"+\tanh(x+{k})-\tanh({k}+x)", 1), DZ_DX_FORMULA).kind == "equal"


def test_no_input_takes_a_second():
    slowest = max((_timed(lambda: call(answer)), i, j)
                  for i, answer in enumerate(ADVERSARIAL) for j, call in enumerate(CALLS))
    assert slowest[0] < 1.0, slowest
