"""The pure-Python Beta quantile agrees with SciPy's (which the scan no longer imports)."""

from __future__ import annotations

import pytest

from oncall_agent.knowledge.beta import beta_cdf, beta_quantile


@pytest.mark.parametrize("a", [0.5, 1.0, 2.0, 3.5, 20.0, 150.0])
@pytest.mark.parametrize("b", [0.5, 1.0, 2.0, 7.0, 60.0])
def test_quantile_and_cdf_match_scipy(a: float, b: float) -> None:
    """The 5th, 50th and 95th percentiles and the CDF agree with scipy.stats.beta to 1e-9."""
    from scipy.stats import beta

    for q in (0.05, 0.5, 0.95):
        assert beta_quantile(q, a, b) == pytest.approx(float(beta.ppf(q, a, b)), abs=1e-9)
    for x in (0.01, 0.3, 0.77, 0.999):
        assert beta_cdf(x, a, b) == pytest.approx(float(beta.cdf(x, a, b)), abs=1e-9)


def test_bad_arguments_are_refused() -> None:
    """A probability outside [0, 1] or a non-positive shape names the values."""
    with pytest.raises(ValueError, match="0 <= q <= 1"):
        beta_quantile(1.5, 1.0, 1.0)
