"""The Beta distribution's quantile in pure Python (SciPy takes ~1 s to import; a scan that
advises a handful of incidents needs only this one number per incident).

The regularized incomplete beta function I_x(a, b) is evaluated by its continued fraction
(modified Lentz, as in Numerical Recipes §6.4), and the quantile found by bisection on it, which
is monotone in x: 200 halvings reach the double precision of x.
"""

from __future__ import annotations

import math

_TINY = 1e-300
_EPS = 1e-15


def _continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b) (converges fast for x < (a + 1) / (a + b + 2))."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return result


def beta_cdf(x: float, a: float, b: float) -> float:
    """I_x(a, b): P(X <= x) for X ~ Beta(a, b), with a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )  # fmt: skip
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(1.0 - x, b, a) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """The x with P(X <= x) = Q for X ~ Beta(a, b) (Q in [0, 1], a, b > 0)."""
    if not 0.0 <= q <= 1.0 or a <= 0 or b <= 0:
        raise ValueError(f"beta_quantile needs 0 <= q <= 1 and a, b > 0, got {q}, {a}, {b}")
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if beta_cdf(middle, a, b) < q:
            low = middle
        else:
            high = middle
    return (low + high) / 2
