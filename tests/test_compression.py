import numpy as np
import pytest

from clvlab.datasets import load_cdnow_summary
from clvlab.models import BetaGeo, ModifiedBetaGeo, ParetoNBD
from clvlab.models.compression import compress


def test_compress_restores_every_row_and_counts_duplicates():
    columns = {"x": [0, 2, 0, 2, 1], "t_x": [0.0, 3.5, 0.0, 3.5, 1.0], "T": [9.0, 9, 9, 9, 9]}
    compressed = compress(columns)
    assert compressed.n_rows == 3 and compressed.n_original == 5
    for name, values in columns.items():
        np.testing.assert_array_equal(compressed.values[name][compressed.inverse], values)
    assert dict(zip(compressed.values["x"], compressed.weights, strict=True)) == {
        0.0: 2.0,
        1.0: 1.0,
        2.0: 2.0,
    }
    np.testing.assert_array_equal(
        compressed.expand(np.array([10.0, 11.0, 12.0])), [10, 12, 10, 12, 11]
    )


def test_cdnow_collapses_to_fewer_rows():
    cdnow = load_cdnow_summary()
    compressed = compress({c: cdnow[c] for c in ("frequency", "recency", "T")})
    assert compressed.weights.sum() == len(cdnow) == 2357
    assert compressed.n_rows < 1100  # the 1,411 customers without repeat purchase share rows


@pytest.mark.parametrize("model_class", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
def test_compressed_log_likelihood_equals_uncompressed(model_class):
    cdnow = load_cdnow_summary()
    model = model_class()
    params = {
        name: np.float64(v) for name, v in zip(model.param_names, (0.5, 8.0, 0.8, 3.0), strict=True)
    }
    frame = model.validate_data(cdnow)
    per_customer = model._log_likelihood(model._columns(frame), params, np)
    assert per_customer.shape == (2357,)
    compressed = model._compressed(frame)
    weighted = compressed.weights @ model._log_likelihood(compressed.values, params, np)
    assert weighted == pytest.approx(per_customer.sum(), rel=1e-12)
    assert model.log_likelihood(cdnow, params) == pytest.approx(per_customer.sum(), rel=1e-12)
