"""Input checks shared by every model (clvlab.models.data)."""

import numpy as np
import pandas as pd
import pytest

from clvlab.errors import DataValidationError
from clvlab.models import BetaGeo, ParetoNBD
from clvlab.models.data import DataSpec, validate_table

SPEC = DataSpec("customer_id", ("frequency", "T"), covariates=("z",), weights="n")


def table(**changes):
    base = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "frequency": [0, 2, 1],
            "recency": [0.0, 5.0, 3.0],
            "T": [10.0, 10.0, 12.0],
            "z": [-1.0, 0.0, 2.5],
            "n": [3, 1, 2],
        }
    )
    return base.assign(**changes)


def test_covariates_may_be_negative_and_weighted_ids_may_repeat():
    frame = validate_table(table(customer_id=[1, 1, 2]), SPEC, "Toy")
    assert list(frame.columns) == ["customer_id", "frequency", "T", "z", "n"]
    assert frame["z"].tolist() == [-1.0, 0.0, 2.5]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"T": [10.0, np.inf, 12.0]}, r"'T' is infinite for customer_id 2"),
        ({"z": [1.0, np.nan, 0.0]}, r"'z' has missing or non-numeric values for customer_id 2"),
        ({"n": [1, 0, 2]}, r"'n' is not positive for customer_id 2"),
        ({"frequency": [0, -1, 1]}, r"'frequency' is negative for customer_id 2"),
    ],
)
def test_impossible_values_are_named(changes, message):
    with pytest.raises(DataValidationError, match=message):
        validate_table(table(**changes), SPEC, "Toy")


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_infinite_T_is_rejected(model_class):
    # Regression: T = inf passed validation.
    with pytest.raises(DataValidationError, match="'T' is infinite"):
        model_class().validate_data(table(T=[10.0, np.inf, 12.0]))


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_repeat_purchases_at_recency_zero_are_rejected(model_class):
    # Regression: x > 0 with recency 0 passed, and crashed the Pareto/NBD kernel.
    with pytest.raises(DataValidationError, match=r"'recency' is 0 .* customer_id 2"):
        model_class().validate_data(table(recency=[0.0, 0.0, 3.0]))


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_a_table_without_information_cannot_be_fitted(model_class):
    # Regression: all customers with T = 0 returned the starting values, "log-likelihood 0".
    empty = table(frequency=[0, 0, 0], recency=[0.0, 0.0, 0.0], T=[0.0, 0.0, 0.0])
    with pytest.raises(DataValidationError, match="'T' is 0 for every customer"):
        model_class().fit(empty, method="mle")
    model_class().validate_data(empty)  # fine to predict for: new customers
