"""Numerical and exact evaluation of the unevaluated trees built by parse.py.

Trees are walked by hand with mpmath (never sympy's own evaluation, which can be led
into unbounded work); any overflow, singularity or huge intermediate raises NotFinite.

equal() decides whether two trees have exactly the same value at a point, with
interval arithmetic (mpmath.iv): every operation returns an interval certain to hold
the exact value, so an interval without 0 proves that two values differ.  It is
evaluated at DIGITS digits, then again with as many digits as the magnitudes of the
nonzero quantities in the trees span (and a margin), so that no nonzero term a student
writes (10^-40, or (10^-50)^3) can hide below the precision; nonzero quantities must lie
within [1/LARGE, LARGE], which also bounds the cost.  What is left undecided is a
difference that cancels to far below every quantity written (a Taylor remainder such as
e^t - 1 - t for t = 10^-100), taken as 0.
"""
from __future__ import annotations

from fractions import Fraction
from math import ceil, prod

import mpmath
import sympy
from mpmath import iv

DIGITS = 60                     # working precision of numerical evaluation
HUGE = mpmath.mpf(10) ** 300    # larger magnitudes count as overflow
LARGE = mpmath.mpf(10) ** 150   # equal() evaluates nonzero magnitudes within [1/LARGE, LARGE]
_MARGIN = 20                    # digits of equal()'s second pass beyond the magnitudes' span
MAX_WORK = 800_000              # digits times nodes evaluated by equal() for one answer
MAX_BITS = 10_000               # largest exact rational computed from an answer
_CONSTANTS = {sympy.E: mpmath.e, sympy.pi: mpmath.pi}


class NotFinite(Exception):
    """Numerical evaluation overflowed or hit a singularity."""


def evaluate(expr, x=None, digits=DIGITS):
    """Value of a tree at x (a sympy Rational) with mpmath; overflow raises NotFinite."""
    with mpmath.workdps(digits):
        return _num(expr, None if x is None else mpmath.mpf(x.p) / x.q)


def _exp(z):
    if mpmath.re(z) > 690:
        raise NotFinite
    return mpmath.exp(z)


def _num(e, x):
    if e.is_Rational:
        return mpmath.mpf(e.p) / e.q
    if e.is_Symbol:
        return x
    if e in _CONSTANTS:
        return +_CONSTANTS[e]
    values = [_num(a, x) for a in e.args]
    if isinstance(e, sympy.Add):
        v = mpmath.fsum(values)
    elif isinstance(e, sympy.Mul):
        v = mpmath.fprod(values)
    elif isinstance(e, sympy.Pow):
        base, power = values
        integral = mpmath.im(power) == 0 and abs(power) <= 10 ** 6 and power == int(mpmath.re(power))
        if e.base is sympy.E:
            v = _exp(power)
        elif base == 0:
            if mpmath.re(power) <= 0:
                raise NotFinite
            v = mpmath.mpf(0)
        elif integral:
            v = base ** int(mpmath.re(power))
        else:
            v = _exp(power * mpmath.log(base))
    elif isinstance(e, sympy.log):
        if values[0] == 0:
            raise NotFinite
        v = mpmath.log(values[0])
    elif isinstance(e, (sympy.sinh, sympy.cosh)):
        sign = 1 if isinstance(e, sympy.cosh) else -1
        v = (_exp(values[0]) + sign * _exp(-values[0])) / 2
    elif isinstance(e, sympy.tanh) and abs(values[0]) < 10 ** 6:
        v = mpmath.tanh(values[0])
    elif isinstance(e, (sympy.Max, sympy.Min)) and not any(mpmath.im(v) for v in values):
        v = (max if isinstance(e, sympy.Max) else min)(mpmath.re(v) for v in values)
    else:
        raise NotFinite
    if not mpmath.isfinite(v) or abs(v) > HUGE:
        raise NotFinite
    return v


def rational(e):
    """Exact value of a tree of rational numbers, +, * and integer powers, else None."""
    if e.is_Rational:
        return Fraction(e.p, e.q)
    if isinstance(e, (sympy.Add, sympy.Mul, sympy.Pow)):
        values = [rational(a) for a in e.args]
        if None in values:
            return None
        if isinstance(e, sympy.Add):
            return sum(values)
        if isinstance(e, sympy.Mul):
            return prod(values)
        base, power = values
        if power.denominator == 1 and (base or power > 0) and \
                max(abs(base.numerator), base.denominator).bit_length() * abs(power) <= MAX_BITS:
            return base ** int(power)
    return None


# ------------------------------------------------------------ exact equality


class TooCostly(Exception):
    """The exact check of an answer would take more than MAX_WORK (the message is for the student)."""


class _Pass:
    """One evaluation of equal(): its precision, the magnitudes met, the work done so far
    (shared by the calls of one comparison) and the intervals of the subtrees seen."""

    def __init__(self, x, digits, work):
        self.x, self.digits, self.work, self.seen = x, digits, work, {}
        self.low, self.high = LARGE, 1 / LARGE      # smallest and largest nonzero magnitudes


def equal(given, expected, x=None, work=None) -> bool:
    """Is the value of `given` exactly that of `expected` at x (a Rational, or None)?

    False when intervals certain to hold the two values are apart; NotFinite where a
    value is undefined, not real, or beyond [1/LARGE, LARGE].  `work` ([0]) counts the
    digits times nodes evaluated over the calls that share it; past MAX_WORK, TooCostly.
    """
    work = [0] if work is None else work
    digits = DIGITS
    for _ in range(2):
        old = iv.dps
        try:
            iv.dps = digits
            state = _Pass(None if x is None else iv.mpf(x.p) / x.q, digits, work)
            difference = _interval(given, state) - _interval(expected, state)
        finally:
            iv.dps = old
        if 0 not in difference:
            return False
        needed = _MARGIN + ceil(mpmath.log10(state.high / state.low)) if state.low <= state.high else 0
        if needed <= digits:
            return True
        digits = needed
    return True


def _iexp(z):
    if z.b > 690:
        raise NotFinite
    return iv.exp(z)


def _ipower(e, base, state):
    if e.base is sympy.E:
        return _iexp(_interval(e.exp, state))
    k = rational(e.exp)
    if k is not None and k.denominator == 1 and abs(k) <= 10 ** 6:
        if k <= 0 and 0 in base:
            raise NotFinite
        return base ** int(k)
    power = _interval(e.exp, state)
    if base.a <= 0:         # a root of a negative number is not real
        raise NotFinite
    return _iexp(power * iv.log(base))


def _interval(e, state):
    """Interval of a tree's value at state.x (see equal); records the magnitudes met."""
    if e in state.seen:
        return state.seen[e]
    state.work[0] += state.digits
    if state.work[0] > MAX_WORK:
        raise TooCostly("Your answer is too costly to check exactly (a long formula with very "
                        "large and very small quantities): simplify it.")
    if e.is_Rational:
        v = iv.mpf(e.p) / e.q
    elif e.is_Symbol:
        v = state.x
    elif e is sympy.E:
        v = iv.e
    elif e is sympy.pi:
        v = iv.pi
    elif isinstance(e, sympy.Pow):
        v = _ipower(e, _interval(e.base, state), state)
    else:
        values = [_interval(a, state) for a in e.args]
        if isinstance(e, sympy.Add):
            v = sum(values[1:], values[0])
        elif isinstance(e, sympy.Mul):
            v = prod(values[1:], start=values[0])
        elif isinstance(e, sympy.log):
            if values[0].a <= 0:
                raise NotFinite
            v = iv.log(values[0])
        elif isinstance(e, (sympy.sinh, sympy.cosh)):
            sign = 1 if isinstance(e, sympy.cosh) else -1
            v = (_iexp(values[0]) + sign * _iexp(-values[0])) / 2
        elif isinstance(e, sympy.tanh):
            v = 1 - 2 / (_iexp(2 * values[0]) + 1)
        elif isinstance(e, (sympy.Max, sympy.Min)):
            pick = max if isinstance(e, sympy.Max) else min
            v = iv.mpf([pick(_ends(w)[0] for w in values), pick(_ends(w)[1] for w in values)])
        else:
            raise NotFinite
    if v is None:
        raise NotFinite
    a, b = _ends(v)
    if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
        raise NotFinite
    if 0 not in v:
        low, high = min(abs(a), abs(b)), max(abs(a), abs(b))
        if high > LARGE or low * LARGE < 1:
            raise NotFinite
        state.low, state.high = min(state.low, low), max(state.high, high)
    state.seen[e] = v
    return v


def _ends(v):
    """The end points of an interval as mpmath numbers."""
    return mpmath.mpf(v.a), mpmath.mpf(v.b)
