"""Value answers: numbers, or formulas in x, compared by high-precision evaluation.

Both sides are evaluated with 60 digits, formulas in x at fixed points in [-3, 3] and
at RANDOM_POINTS more drawn from a seed (by default a hash of the answer and the
reference), so that no formula tuned to agree with the reference at known points passes.
Agreement to 1e-40 (1e-9 at every point for formulas) counts as equality.  An answer
with D decimal digits in all is "equal" only if it agrees to 1e-(D + 40) at 2D + 60
digits (D capped at MAX_DECIMALS), far beyond what its decimals could achieve by
approximation; otherwise it is "close" if within DECIMAL_RTOL.
"""
from __future__ import annotations

import hashlib
import random

import mpmath
import sympy

from .evaluate import DIGITS, NotFinite, evaluate
from .parse import Context, parse

DECIMAL_RTOL = 5e-3
RANDOM_POINTS = 12
MAX_DECIMALS = 50     # decimal digits that raise the precision of the check for exact equality
_FIXED_POINTS = tuple(sympy.Rational(v, 10) for v in (-27, -19, -11, -3, 6, 14, 23))
_SYMBOLS = {"x": sympy.Symbol("x", real=True)}


def context(variables) -> Context:
    return Context({v: _SYMBOLS.get(v) or sympy.Symbol(v, real=True) for v in variables}, big_o=False)


def read(text, variables):
    """(tree, decimals) for one member's text; decimals counts the digits of its decimals."""
    expr, parser = parse(text, context(variables))
    return expr, parser.decimals


def points(answer_key: str, reference: str, seed=None):
    """Where formulas in x are compared: fixed points, and random ones in [-3, 3] drawn
    from `seed` together with the answer and the reference (deterministic for the same inputs)."""
    digest = hashlib.sha256(repr((seed, answer_key, reference)).encode()).digest()
    rng = random.Random(digest)
    return _FIXED_POINTS + tuple(sympy.Rational(rng.randint(-3000, 3000), 1000)
                                 for _ in range(RANDOM_POINTS))


def _error(given, expected, where, digits=DIGITS):
    """Largest relative difference over the points (absolute where the expected value is 0)."""
    error = mpmath.mpf(0)
    for p in where:
        a, b = evaluate(given, p, digits), evaluate(expected, p, digits)
        error = max(error, abs(a - b) / abs(b) if b != 0 else abs(a))
    return error


def judge(given, expected, where, decimals, exact=True) -> str:
    """'equal', 'close' or 'different'; `where` is (None,) for numbers, else points().

    With exact=False an answer with decimals within DECIMAL_RTOL is 'close' without the
    costlier check for exact equality.
    """
    formula = where != (None,)
    try:
        error = _error(given, expected, where)
        if not decimals:
            return "equal" if error <= (1e-9 if formula else 1e-40) else "different"
        if error > DECIMAL_RTOL or not exact:
            return "different" if error > DECIMAL_RTOL else "close"
        decimals = min(decimals, MAX_DECIMALS)
        exact = _error(given, expected, where, 2 * decimals + DIGITS)
        return "equal" if exact <= mpmath.mpf(10) ** -(decimals + 40) else "close"
    except (NotFinite, ArithmeticError):
        return "different"
