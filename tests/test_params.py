"""Parameter specs (clvlab.models.params): transforms, the vector layout, covariate links."""

import numpy as np
import pytest

from clvlab.models.params import (
    COVARIATE_PREFIX,
    POSITIVE,
    REAL,
    UNIT_INTERVAL,
    Parameter,
    ParameterLayout,
)


@pytest.mark.parametrize(
    ("support", "value"), [(POSITIVE, 3.5), (REAL, -2.0), (UNIT_INTERVAL, 0.2)]
)
def test_transforms_round_trip_and_slopes_are_derivatives(support, value):
    u = support.to_unconstrained(value)
    assert support.to_constrained(u) == pytest.approx(value, rel=1e-12)
    h = 1e-6
    numeric = (support.to_constrained(u + h) - support.to_constrained(u - h)) / (2 * h)
    assert support.slope(value) == pytest.approx(numeric, rel=1e-6)
    assert support.contains(value)
    assert support.shift(value, 0.0) == pytest.approx(value)


def test_supports_reject_values_outside():
    assert not POSITIVE.contains(0.0)
    assert not UNIT_INTERVAL.contains(1.0)
    assert not REAL.contains(np.inf)


def test_layout_packs_scalars_then_coefficients():
    layout = ParameterLayout.build(
        (Parameter("r"), Parameter("alpha", link_sign=-1.0), Parameter("p", UNIT_INTERVAL)),
        covariates={"alpha": ["age", "income"]},
    )
    assert layout.names == ("r", "alpha", "p", "gamma_alpha")
    assert layout.labels() == ["r", "alpha", "p", "gamma_alpha[age]", "gamma_alpha[income]"]
    values = {"r": 0.5, "alpha": 4.0, "p": 0.25, "gamma_alpha": np.array([0.1, -0.3])}
    u = layout.pack(values)
    np.testing.assert_allclose(u, [np.log(0.5), np.log(4.0), np.log(1 / 3), 0.1, -0.3])
    back = layout.unpack(u)
    for name, value in values.items():
        np.testing.assert_allclose(back[name], value)
    # alpha_i = alpha_0 exp(-gamma' z_i)
    data = {COVARIATE_PREFIX + "age": np.array([0.0, 1.0]), COVARIATE_PREFIX + "income": [2.0, 0.0]}
    linked = layout.link(back, data)
    np.testing.assert_allclose(linked["alpha"], 4.0 * np.exp([0.6, -0.1]))
    assert linked["r"] == 0.5


def test_links_must_name_a_parameter():
    with pytest.raises(ValueError, match="does not have"):
        ParameterLayout.build((Parameter("r"),), covariates={"s": ["age"]})
