"""Does the model reproduce the data? Two checks of the literature, as tidy tables.

* :func:`frequency_histogram` - how many customers made 0, 1, ..., 7+ repeat purchases
  in the calibration period, actual against populations simulated from the model (FHL
  2005, Figure 1): each simulated customer keeps their observed :math:`T_i`; with a
  posterior fit one population per draw, so the band holds parameter uncertainty and
  the sampling variation of the counts (a posterior predictive check).
* :func:`activity_reliability` - a reliability diagram of the holdout: customers binned
  by the predicted probability of at least one holdout purchase,
  :math:`1 - P(Y_i(t) = 0)`, against the share of them who did buy. A calibrated model
  lies on the diagonal. The mean :math:`P(\\text{alive})` of each bin is reported too: it
  bounds the share of buyers from above, since an alive customer need not buy in the
  holdout.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clvlab.evaluate.holdout import require_holdout
from clvlab.models.btyd import BuyTillYouDieModel

__all__ = ["activity_reliability", "frequency_histogram"]


def frequency_histogram(
    models: Mapping[str, BuyTillYouDieModel],
    data: pd.DataFrame,
    *,
    max_frequency: int = 7,
    replicates: int = 200,
    interval: float = 0.94,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Customers by calibration frequency 0, 1, ..., ``max_frequency``+: actual and simulated.

    Parameters
    ----------
    models : mapping of str to BuyTillYouDieModel
        Fitted models keyed by label.
    data : pandas.DataFrame
        The calibration summary (``customer_id``, ``frequency``, ``recency``, ``T``).
    max_frequency : int
        The last group pools this many repeat purchases or more.
    replicates : int
        Least number of simulated populations per model: each posterior draw simulates
        the same number of populations (``sample_posterior_predictive``), at least one,
        so that there are at least this many (a point fit simulates ``replicates``
        populations from its one draw).
    interval : float
        Probability of the central interval of the simulated counts.
    seed : int, optional
        Seed of the simulation.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``frequency`` (0..``max_frequency``), ``series`` (``"actual"`` or a model
        label), ``customers`` (count, or mean simulated count) and
        ``customers_low``/``customers_high`` (central interval of the simulated counts;
        NaN for the actual series).
    """
    groups = np.arange(max_frequency + 1)

    def counts(frequency: np.ndarray) -> np.ndarray:
        """Customers per group in each row of ``frequency`` (populations x customers)."""
        pooled = np.minimum(frequency.astype(int), max_frequency)
        return np.stack([(pooled == g).sum(axis=1) for g in groups], axis=1)

    actual = counts(data["frequency"].to_numpy()[None, :])[0].astype(float)
    tables = [pd.DataFrame({"frequency": groups, "series": "actual", "customers": actual})]
    tail = (1.0 - interval) / 2.0
    for label, model in models.items():
        n_draws = model.posterior.sizes["chain"] * model.posterior.sizes["draw"]
        copies = -(-replicates // n_draws)  # each draw simulates `copies` populations
        tiled = pd.DataFrame(
            {
                "customer_id": np.arange(copies * len(data)),
                **{c: np.tile(data[c].to_numpy(), copies) for c in ("frequency", "recency", "T")},
            }
        )
        draws = model.sample_posterior_predictive(tiled, random_seed=seed)["frequency"]
        flat = draws.stack(sample=("chain", "draw")).T.to_numpy()  # (draws, copies * n)
        values = counts(flat.reshape(n_draws * copies, len(data)))
        low, high = np.quantile(values, [tail, 1.0 - tail], axis=0)
        tables.append(
            pd.DataFrame(
                {
                    "frequency": groups,
                    "series": label,
                    "customers": values.mean(axis=0),
                    "customers_low": low,
                    "customers_high": high,
                }
            )
        )
    return pd.concat(tables, ignore_index=True)


def activity_reliability(
    models: Mapping[str, BuyTillYouDieModel], data: pd.DataFrame, *, bins: int = 10
) -> pd.DataFrame:
    """Predicted probability of a holdout purchase against the observed share, in bins.

    Parameters
    ----------
    models : mapping of str to BuyTillYouDieModel
        Fitted models keyed by label.
    data : pandas.DataFrame
        Calibration summary with holdout columns.
    bins : int
        Equal-width bins of the predicted probability on [0, 1]; empty bins are left out.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``model``, ``bin`` (its upper edge), ``customers``, ``predicted`` (mean
        predicted probability of at least one holdout purchase, posterior mean),
        ``observed`` (share who bought), ``observed_se`` (binomial standard error
        :math:`\\sqrt{o(1-o)/n}`) and ``probability_alive`` (mean P(alive) at the
        calibration end).
    """
    require_holdout(data)
    bought = (data["frequency_holdout"].to_numpy() > 0).astype(float)
    durations = data["duration_holdout"].to_numpy(dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    tables = []
    for label, model in models.items():
        predicted = np.empty(len(data))
        for duration in np.unique(durations):
            rows = np.flatnonzero(durations == duration)
            none = model.probability_of_purchases(data.iloc[rows], n=0, t=float(duration))
            predicted[rows] = 1.0 - none.mean(("chain", "draw")).to_numpy()
        alive = model.probability_alive(data).mean(("chain", "draw")).to_numpy()
        group = np.clip(np.digitize(predicted, edges[1:-1]), 0, bins - 1)
        frame = pd.DataFrame({"bin": edges[1:][group], "p": predicted, "o": bought, "a": alive})
        table = frame.groupby("bin").agg(
            customers=("p", "size"), predicted=("p", "mean"), observed=("o", "mean"),
            probability_alive=("a", "mean"),
        )  # fmt: skip
        n, o = table["customers"], table["observed"]
        table.insert(3, "observed_se", np.sqrt(o * (1 - o) / n))
        tables.append(table.reset_index().assign(model=label))
    table = pd.concat(tables, ignore_index=True)
    return table[["model", *[c for c in table.columns if c != "model"]]]
