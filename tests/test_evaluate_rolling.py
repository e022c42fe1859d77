"""Rolling-origin evaluation on CDNOW (maximum likelihood: fast)."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlab import evaluate, rfm
from clvlab.models import BetaGeo


@pytest.fixture(scope="module")
def small_log(cdnow_log):
    return cdnow_log[cdnow_log["customer_id"].astype(int) <= 400]


def test_one_table_per_cutoff_matches_a_single_comparison(small_log):
    table = evaluate.rolling_origin(
        small_log, {"BG/NBD": BetaGeo}, ["1997-06-30", "1997-09-30"], holdout="26W",
        log_score=False,
    )  # fmt: skip
    assert table.columns[:3].tolist() == ["calibration_end", "observation_end", "model"]
    assert len(table) == 2 * 3  # BG/NBD and two baselines per cut-off
    assert table["observation_end"].iloc[-1] == pd.Timestamp("1998-03-31")
    summary = rfm.summarize(small_log, "1997-09-30", "1998-03-31", amount=None)
    single = evaluate.compare_models(
        {"BG/NBD": BetaGeo().fit(summary, method="mle")}, summary, log_score=False
    )
    last = table[table["calibration_end"] == "1997-09-30"].reset_index(drop=True)
    pd.testing.assert_frame_equal(last.drop(columns=["calibration_end", "observation_end"]), single)


def test_holdout_past_the_log_is_refused(small_log):
    with pytest.raises(ValueError, match="after the log's last purchase"):
        evaluate.rolling_origin(small_log, {"BG/NBD": BetaGeo}, ["1998-03-31"], holdout="26W")
