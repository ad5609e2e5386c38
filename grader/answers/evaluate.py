"""Numerical and exact evaluation of the unevaluated trees built by parse.py.

Trees are walked by hand with mpmath (never sympy's own evaluation, which can be led
into unbounded work); any overflow, singularity or huge intermediate raises NotFinite.
"""
from __future__ import annotations

from fractions import Fraction
from math import prod

import mpmath
import sympy

DIGITS = 60                     # working precision of numerical evaluation
HUGE = mpmath.mpf(10) ** 300    # larger magnitudes count as overflow
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
