r"""Operational lifecycle phases in transaction data: assignment, snapshots, transitions.

A purchase log shows customers from their first purchase on, so only the post-purchase
phases can be read from it. :func:`assign_phases` puts every customer known at a date
``as_of`` (first purchase on or before it) into exactly one of five phases:

``new``
    onboarding (Onboarding): the first purchase is recent.
``growing``
    growth (Wachstum): buying more often, or for more money, than before.
``retained``
    retained / loyal (Bindung): buying at their usual rhythm.
``at_risk``
    at risk (abwanderungsgefährdet): the gap since the last purchase is well beyond the
    customer's usual inter-purchase time.
``lapsed``
    lapsed (abgewandert): no purchase for long enough to count as gone.

Definitions
-----------
Purchases of one customer on the same day are merged into one purchase day
(:func:`clvlab.rfm.purchase_periods`). For a customer with purchase days
:math:`t_1 < \dots < t_n \le` ``as_of`` (only purchases up to ``as_of`` count):

* age :math:`a = \text{as\_of} - t_1`, gap :math:`g = \text{as\_of} - t_n` (days);
* usual inter-purchase time (IPT) :math:`\bar d = (t_n - t_1) / (n - 1)` for
  :math:`n \ge 2` (the mean gap between purchase days);
* the population thresholds are quantiles of all inter-purchase times (pooled over all
  customers, purchases up to ``as_of``): onboarding window
  :math:`w_0 = Q(0.5)`, at-risk threshold :math:`w_r = Q(0.75)`, lapsed threshold
  :math:`w_l = Q(0.95)` (see :class:`PhaseRules` to change the quantiles or fix the days).

Rules, applied in this order (the first that holds decides):

Customers with one purchase day (no IPT of their own) are judged by the population
thresholds only: lapsed if :math:`g > w_l`, at risk if :math:`g > w_r`, else new
(onboarding ends with the second purchase or with being overdue for it).

Customers with two or more purchase days:

1. new if :math:`a \le w_0`;
2. lapsed if :math:`g > \max(w_l,\ f_l \bar d)` (default :math:`f_l = 4`);
3. at risk if :math:`g > \max(w_r,\ f_r \bar d)` (default :math:`f_r = 2`); the population
   threshold is a floor so that one short gap between two early purchases does not make a
   customer "at risk" after a few days;
4. growing if they have at least ``min_purchases_for_trend`` (3) purchase days and, with
   the customer's time split at its midpoint :math:`t_1 + a/2`, either the repeat
   purchases in the second half number at least ``growth_ratio`` (1.25) times those in the
   first half and more of them (rising rate), or the mean amount of the second half's
   purchases is at least ``growth_ratio`` times the mean of the earlier purchases, the
   first included (rising value; only when the log has amounts);
5. retained otherwise.

The open gap to ``as_of`` is part of the second half, so a customer who bought quickly
once and then fell silent is not called growing.

Derived thresholds need enough history: a gap longer than the time between the first
purchase in the log and ``as_of`` cannot have been observed, and long gaps are
under-represented well before that, so early in a log the quantiles are too short. A
``UserWarning`` says so when the history is shorter than twice the derived lapsed
threshold, or shorter than a given one; fix the days in :class:`PhaseRules` or derive them
from a longer period. The history ends at the last purchase in the log: an ``as_of`` after
it gives a ``UserWarning`` of its own, as every customer's gap then includes days the log
does not cover, and customers turn at risk or lapsed for lack of data.

Snapshots
---------
:func:`phase_snapshots` assigns phases at regular dates with one set of thresholds (derived
from the data up to the last date unless given), so that phases are comparable across
dates. Customers not acquired yet at a date are in the state ``not_yet_customer``;
:func:`transition_matrix` counts them as their own origin state, so that every customer
known at the later date is counted exactly once.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvlab import rfm
from clvlab.errors import DataValidationError
from clvlab.rfm import day_number, purchase_periods

PHASES: tuple[str, ...] = ("new", "growing", "retained", "at_risk", "lapsed")
"""Operational phases, in lifecycle order."""
NOT_YET = "not_yet_customer"
"""State of a customer whose first purchase is after the snapshot date."""
STATES: tuple[str, ...] = (NOT_YET, *PHASES)
PHASE_DTYPE = pd.CategoricalDtype(PHASES, ordered=True)
STATE_DTYPE = pd.CategoricalDtype(STATES, ordered=True)
STATE_LABELS: dict[str, str] = {
    NOT_YET: "Not yet a customer",
    "new": "New",
    "growing": "Growing",
    "retained": "Retained",
    "at_risk": "At risk",
    "lapsed": "Lapsed",
}
"""Readable label of every state, for plots and tables (the ids stay the data's values)."""
_AXIS_LABELS: dict[str, str] = {
    "as_of": "Snapshot date",
    "phase": "Phase",
    "from": "From state",
    "to": "To phase",
}

__all__ = [
    "NOT_YET",
    "PHASES",
    "STATES",
    "STATE_LABELS",
    "PhaseRules",
    "assign_phases",
    "assign_phases_model",
    "phase_label",
    "phase_sizes",
    "phase_snapshots",
    "readable",
    "revenue_by_phase",
    "snapshot_dates",
    "transition_matrix",
]


@dataclass(frozen=True)
class PhaseRules:
    """Thresholds of :func:`assign_phases`; unset day thresholds are derived from the data.

    Parameters
    ----------
    onboarding_days : float, optional
        Onboarding window :math:`w_0`: a repeat buyer whose first purchase is at most this
        many days before ``as_of`` is new. Default: ``onboarding_quantile`` of the IPTs.
    at_risk_days : float, optional
        Population at-risk threshold :math:`w_r` (days since the last purchase). Default:
        ``at_risk_quantile`` of the IPTs.
    lapsed_days : float, optional
        Population lapsed threshold :math:`w_l`. Default: ``lapsed_quantile`` of the IPTs.
    onboarding_quantile, at_risk_quantile, lapsed_quantile : float
        Quantiles (0.5, 0.75, 0.95) of the pooled inter-purchase times used for the
        defaults.
    at_risk_factor, lapsed_factor : float
        :math:`f_r` (2) and :math:`f_l` (4): a repeat buyer is at risk or lapsed once the
        gap exceeds this multiple of their own usual IPT (and the population threshold).
    growth_ratio : float
        How much the second half of a customer's time must exceed the first (purchase
        count or mean amount) to count as growing (1.25).
    min_purchases_for_trend : int
        Fewest purchase days for a customer to be judged growing (3).
    """

    onboarding_days: float | None = None
    at_risk_days: float | None = None
    lapsed_days: float | None = None
    onboarding_quantile: float = 0.5
    at_risk_quantile: float = 0.75
    lapsed_quantile: float = 0.95
    at_risk_factor: float = 2.0
    lapsed_factor: float = 4.0
    growth_ratio: float = 1.25
    min_purchases_for_trend: int = 3

    def __post_init__(self) -> None:
        for name in ("onboarding_quantile", "at_risk_quantile", "lapsed_quantile"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise DataValidationError(f"PhaseRules.{name} must lie in (0, 1), got {value}")
        if self.at_risk_quantile > self.lapsed_quantile:
            raise DataValidationError(
                "PhaseRules.at_risk_quantile must not exceed lapsed_quantile "
                f"({self.at_risk_quantile} > {self.lapsed_quantile})"
            )
        for name in ("onboarding_days", "at_risk_days", "lapsed_days"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise DataValidationError(f"PhaseRules.{name} must be positive, got {value}")
        if self.at_risk_days is not None and self.lapsed_days is not None:
            if self.at_risk_days > self.lapsed_days:
                raise DataValidationError(
                    "PhaseRules.at_risk_days must not exceed lapsed_days "
                    f"({self.at_risk_days} > {self.lapsed_days})"
                )
        if not 1 <= self.at_risk_factor <= self.lapsed_factor:
            raise DataValidationError(
                "PhaseRules needs 1 <= at_risk_factor <= lapsed_factor, got "
                f"{self.at_risk_factor} and {self.lapsed_factor}"
            )
        if not self.growth_ratio >= 1:
            raise DataValidationError(
                f"PhaseRules.growth_ratio must be at least 1, got {self.growth_ratio}"
            )
        if self.min_purchases_for_trend < 3:
            raise DataValidationError(
                "PhaseRules.min_purchases_for_trend must be at least 3 (a trend needs two "
                f"repeat purchases), got {self.min_purchases_for_trend}"
            )

    @property
    def resolved(self) -> bool:
        """True when all three day thresholds are set."""
        return None not in (self.onboarding_days, self.at_risk_days, self.lapsed_days)

    def resolve(
        self, ipt_days: np.ndarray | pd.Series, history_days: float | None = None
    ) -> PhaseRules:
        """Fill the unset day thresholds from inter-purchase times (in days).

        Parameters
        ----------
        ipt_days : array-like
            Pooled inter-purchase times in days.
        history_days : float, optional
            Length of the history the times come from. Gaps longer than the history
            cannot have been observed and long gaps are under-represented, so a
            ``UserWarning`` is issued when a derived lapsed threshold exceeds half of it.

        Raises
        ------
        DataValidationError
            If thresholds are missing and there are no inter-purchase times to derive
            them from (nobody bought twice).
        """
        if (
            self.lapsed_days is not None
            and history_days is not None
            and history_days < self.lapsed_days
        ):
            warnings.warn(
                f"only {history_days:.0f} days of purchase history, fewer than "
                f"lapsed_days={self.lapsed_days:g}: the log is too short to show a gap that "
                "long, so lapsed customers cannot be told from the others",
                UserWarning,
                stacklevel=3,
            )
        if self.resolved:
            return self
        ipt = np.asarray(ipt_days, dtype=float)
        if ipt.size == 0:
            raise DataValidationError(
                "no customer bought on two different days up to as_of, so the phase "
                "thresholds cannot be derived from inter-purchase times; pass them, e.g. "
                "PhaseRules(onboarding_days=30, at_risk_days=90, lapsed_days=365)"
            )
        filled = {
            days: getattr(self, days)
            if getattr(self, days) is not None
            else float(np.quantile(ipt, getattr(self, quantile)))
            for days, quantile in (
                ("onboarding_days", "onboarding_quantile"),
                ("at_risk_days", "at_risk_quantile"),
                ("lapsed_days", "lapsed_quantile"),
            )
        }
        if (
            self.lapsed_days is None
            and history_days is not None
            and history_days < 2 * filled["lapsed_days"]
        ):
            warnings.warn(
                f"phase thresholds derived from only {history_days:.0f} days of history: "
                "inter-purchase times longer than about half of it are under-represented, "
                f"so lapsed_days={filled['lapsed_days']:.0f} (and at_risk_days) are probably "
                "too short. Pass PhaseRules(lapsed_days=..., at_risk_days=...) or use a "
                "longer history",
                UserWarning,
                stacklevel=3,
            )
        if filled["at_risk_days"] > filled["lapsed_days"]:
            raise DataValidationError(
                f"at_risk_days {filled['at_risk_days']:.1f} exceeds lapsed_days "
                f"{filled['lapsed_days']:.1f} after filling from the data; set both explicitly"
            )
        return replace(self, **filled)

    def to_dict(self) -> dict[str, float | int | None]:
        """The rules as a plain dict (e.g. for reports or JSON)."""
        return asdict(self)


# --------------------------------------------------------------------------- helpers


def _as_of(value: str | pd.Timestamp) -> pd.Timestamp:
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError) as err:
        raise DataValidationError(
            f"as_of {value!r} is not a date ({err}); pass e.g. '1997-12-31'"
        ) from None


def _periods(log: pd.DataFrame, customer: str, date: str, amount: str | None) -> pd.DataFrame:
    """Purchase days (same-day purchases merged), with ``day`` as days since 1970."""
    if len(log) == 0:
        raise DataValidationError(
            "the transaction log has no rows; check the file and run "
            "clvlab.transactions.validate on it first"
        )
    periods = purchase_periods(log, customer=customer, date=date, amount=amount)
    periods["day"] = periods["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    return periods


def _history_days(periods: pd.DataFrame, as_of_day: int, name: str) -> int:
    """Days of purchase history up to ``as_of_day``: from the first purchase in the log to
    ``as_of_day`` or the last purchase, whichever is earlier. Warns when ``as_of_day`` lies
    after the last purchase, as the days past the log's end look like days without
    purchases."""
    first_day, last_day = int(periods["day"].min()), int(periods["day"].max())
    rfm.warn_after_last_purchase(
        name,
        as_of_day,
        last_day,
        "every customer's gap since the last purchase includes those days, so customers "
        "turn at risk or lapsed for lack of data; pick a date inside the log",
        stacklevel=4,
    )
    return min(as_of_day, last_day) - first_day


def _ipts(periods: pd.DataFrame, as_of_day: int) -> np.ndarray:
    """Pooled inter-purchase times (days) of purchase days up to ``as_of_day``."""
    upto = periods[periods["day"] <= as_of_day]
    same = upto["customer_id"].to_numpy()[1:] == upto["customer_id"].to_numpy()[:-1]
    return np.diff(upto["day"].to_numpy())[same]


def _assign(periods: pd.DataFrame, as_of_day: int, rules: PhaseRules) -> pd.DataFrame:
    """Vectorised phase assignment on purchase days; ``rules`` must be resolved."""
    upto = periods[periods["day"] <= as_of_day]
    has_amount = "amount" in upto.columns
    codes, customers = pd.factorize(upto["customer_id"], sort=True)
    n_cust = len(customers)
    day = upto["day"].to_numpy()
    n = np.bincount(codes, minlength=n_cust)
    first = np.full(n_cust, np.iinfo(np.int64).max)
    last = np.full(n_cust, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, day)
    np.maximum.at(last, codes, day)
    age = (as_of_day - first).astype(float)
    gap = (as_of_day - last).astype(float)
    repeat = n >= 2
    ipt = np.divide(last - first, n - 1, out=np.full(n_cust, np.nan), where=repeat)

    # Trend: second half of the customer's time (midpoint first + age/2) against the first.
    mid = first + age / 2
    late = day[:] > mid[codes]
    is_first_day = day == first[codes]
    early_repeats = np.bincount(codes, weights=~late & ~is_first_day, minlength=n_cust)
    late_repeats = np.bincount(codes, weights=late, minlength=n_cust)
    rate_up = (late_repeats >= rules.growth_ratio * early_repeats) & (late_repeats > early_repeats)
    if has_amount:
        amount = upto["amount"].to_numpy(dtype=float)
        late_sum = np.bincount(codes, weights=np.where(late, amount, 0.0), minlength=n_cust)
        early_sum = np.bincount(codes, weights=np.where(late, 0.0, amount), minlength=n_cust)
        early_n = n - late_repeats
        with np.errstate(divide="ignore", invalid="ignore"):
            late_mean = late_sum / late_repeats
            early_mean = early_sum / early_n
        value_up = (late_repeats > 0) & (late_mean >= rules.growth_ratio * early_mean)
        value_up &= early_mean > 0
    else:
        value_up = np.zeros(n_cust, dtype=bool)
    growing = (n >= rules.min_purchases_for_trend) & (rate_up | value_up)

    risk_limit = np.where(
        repeat, np.fmax(rules.at_risk_days, rules.at_risk_factor * ipt), rules.at_risk_days
    )
    lapse_limit = np.where(
        repeat, np.fmax(rules.lapsed_days, rules.lapsed_factor * ipt), rules.lapsed_days
    )
    conditions = [
        repeat & (age <= rules.onboarding_days),
        gap > lapse_limit,
        gap > risk_limit,
        ~repeat,
        growing,
    ]
    choices = ["new", "lapsed", "at_risk", "new", "growing"]
    phase = np.select(conditions, choices, default="retained")

    table = pd.DataFrame(
        {
            "customer_id": customers,
            "phase": pd.Categorical(phase, dtype=PHASE_DTYPE),
            "first_purchase": first.astype("datetime64[D]").astype("datetime64[ns]"),
            "last_purchase": last.astype("datetime64[D]").astype("datetime64[ns]"),
            "n_purchases": n,
            "age_days": age,
            "gap_days": gap,
            "usual_ipt_days": ipt,
            "at_risk_after_days": risk_limit,
            "lapsed_after_days": lapse_limit,
        }
    )
    if has_amount:
        table["revenue"] = np.bincount(codes, weights=upto["amount"].to_numpy(), minlength=n_cust)
    return table


# --------------------------------------------------------------------------- public API


def assign_phases(
    log: pd.DataFrame,
    as_of: str | pd.Timestamp,
    rules: PhaseRules | None = None,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
) -> pd.DataFrame:
    """Put every customer known at ``as_of`` into exactly one operational phase.

    See the module docstring for the definitions and rules.

    Parameters
    ----------
    log : pandas.DataFrame
        Clean transaction log (:func:`clvlab.transactions.validate`), one row per purchase.
    as_of : date-like
        The date of the assignment; purchases after it are ignored.
    rules : PhaseRules, optional
        Thresholds; unset day thresholds are derived from the inter-purchase times of the
        purchases up to ``as_of``.
    customer, date, amount : str
        Column names; without an amount column only the purchase rate decides growth.

    Returns
    -------
    pandas.DataFrame
        One row per customer whose first purchase is on or before ``as_of``, sorted by id:
        ``customer_id``, ``phase`` (ordered categorical, :data:`PHASES`),
        ``first_purchase``, ``last_purchase``, ``n_purchases`` (purchase days),
        ``age_days``, ``gap_days``, ``usual_ipt_days`` (NaN with one purchase),
        ``at_risk_after_days`` and ``lapsed_after_days`` (the customer's thresholds) and,
        with amounts, ``revenue`` up to ``as_of``. ``attrs`` holds ``as_of``, ``rules``
        (resolved, as a dict), ``customers_not_yet_acquired`` (customers in the log whose
        first purchase is after ``as_of``, left out) and ``merged_same_day``.

    Raises
    ------
    DataValidationError
        A column is missing, ``as_of`` is not a date or precedes every purchase, or the
        thresholds cannot be derived.

    Examples
    --------
    >>> from clvlab import datasets, phases
    >>> table = phases.assign_phases(datasets.load_cdnow(), "1997-12-31")
    >>> len(table)
    2357
    """
    rules = PhaseRules() if rules is None else rules
    periods = _periods(log, customer, date, amount if amount in log.columns else None)
    when = _as_of(as_of)
    as_of_day = day_number(when)
    first_day = int(periods["day"].min())
    if as_of_day < first_day:
        raise DataValidationError(
            f"as_of {when.date()} is before the first purchase in the log "
            f"({np.datetime64(first_day, 'D')}): no customer is known yet; pick a later date"
        )
    resolved = rules.resolve(
        _ipts(periods, as_of_day), history_days=_history_days(periods, as_of_day, "as_of")
    )
    table = _assign(periods, as_of_day, resolved)
    table.attrs = {
        "as_of": str(when.date()),
        "rules": resolved.to_dict(),
        "customers_not_yet_acquired": int(periods["customer_id"].nunique() - len(table)),
        "merged_same_day": int(periods.attrs.get("merged_same_day", 0)),
    }
    return table


def assign_phases_model(
    log: pd.DataFrame,
    as_of: str | pd.Timestamp,
    model: Any,
    horizon: float = 52.0,
    time_unit: str = "W",
    alive_at_risk: float = 0.7,
    alive_lapsed: float = 0.3,
    expected_at_risk: float = 0.5,
    rules: PhaseRules | None = None,
    fit_kwargs: dict[str, Any] | None = None,
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
) -> pd.DataFrame:
    r"""Model-based phases: a buy-till-you-die model's posterior instead of fixed windows.

    The customers' RFM summary at ``as_of`` (:func:`clvlab.rfm.summarize`) goes through a
    fitted transaction model (e.g. :class:`clvlab.models.BetaGeo`); with the posterior
    means of the probability of being alive :math:`P(\text{alive})` and of the expected
    purchases :math:`E[Y(h)]` in the next ``horizon`` time units, the rules are:

    1. new: as in :func:`assign_phases` (too little history for the model to judge);
    2. lapsed if :math:`P(\text{alive}) <` ``alive_lapsed`` (0.3);
    3. at risk if :math:`P(\text{alive}) <` ``alive_at_risk`` (0.7) or
       :math:`E[Y(h)] <` ``expected_at_risk`` (0.5 purchases in 52 weeks);
    4. growing: as in :func:`assign_phases` (the models assume a constant purchase rate
       while alive, so they cannot see growth);
    5. retained otherwise.

    Note that in BG/NBD a customer can only drop out after a repeat purchase, so customers
    with a single purchase have :math:`P(\text{alive}) = 1` and are never lapsed; their
    low expected purchases make them at risk. Pareto/NBD has no such asymmetry.

    Parameters
    ----------
    log : pandas.DataFrame
        Clean transaction log.
    as_of : date-like
        Date of the assignment (the calibration end of the RFM summary).
    model : clvlab.models.CLVModel
        A transaction model with ``probability_alive(data)`` and
        ``expected_purchases(data, t)``. If it is not fitted yet, it is fitted to the
        summary at ``as_of`` with ``fit_kwargs`` (default ``{"method": "mle"}``).
    horizon : float
        Horizon of the expected purchases, in ``time_unit``.
    time_unit : {"W", "D"}
        Time unit of the summary (and of the model's parameters).
    rules : PhaseRules, optional
        Rules for the new and growing phases, as in :func:`assign_phases`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`assign_phases` (``phase`` now model-based), plus
        ``phase_rules`` (the rule-based phase, for comparison), ``probability_alive`` and
        ``expected_purchases``; ``attrs`` adds ``model``, ``horizon`` and ``time_unit``.
    """
    if not 0 < alive_lapsed <= alive_at_risk < 1:
        raise DataValidationError(
            "need 0 < alive_lapsed <= alive_at_risk < 1, got "
            f"alive_lapsed={alive_lapsed}, alive_at_risk={alive_at_risk}"
        )
    table = assign_phases(log, as_of, rules, customer=customer, date=date, amount=amount)
    summary = rfm.summarize(
        log,
        calibration_end=table.attrs["as_of"],
        time_unit=time_unit,
        customer=customer,
        date=date,
        amount=amount if amount in log.columns else None,
    )
    if getattr(model, "idata", None) is None:
        model.fit(summary, **(fit_kwargs or {"method": "mle"}))
    alive = model.probability_alive(summary).mean(("chain", "draw"))
    expected = model.expected_purchases(summary, t=horizon).mean(("chain", "draw"))
    p_alive = pd.Series(alive.to_numpy(), index=summary["customer_id"].to_numpy())
    e_next = pd.Series(expected.to_numpy(), index=summary["customer_id"].to_numpy())
    p_alive = p_alive.reindex(table["customer_id"]).to_numpy()
    e_next = e_next.reindex(table["customer_id"]).to_numpy()
    by_rules = table["phase"].astype(str).to_numpy()
    phase = np.select(
        [
            by_rules == "new",
            p_alive < alive_lapsed,
            (p_alive < alive_at_risk) | (e_next < expected_at_risk),
            by_rules == "growing",
        ],
        ["new", "lapsed", "at_risk", "growing"],
        default="retained",
    )
    out = table.assign(
        phase=pd.Categorical(phase, dtype=PHASE_DTYPE),
        phase_rules=table["phase"],
        probability_alive=p_alive,
        expected_purchases=e_next,
    )
    out.attrs = {
        **table.attrs,
        "model": type(model).__name__,
        "horizon": horizon,
        "time_unit": time_unit,
    }
    return out


def snapshot_dates(
    log: pd.DataFrame,
    freq: str = "ME",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    date: str = "date",
) -> pd.DatetimeIndex:
    """Regular snapshot dates covering the log, e.g. month ends (``freq="ME"``).

    By default from the first period end on or after the first purchase to the last
    period end on or before the last purchase (the last purchase date itself if no period
    ends in between).
    """
    if date not in log.columns:
        raise DataValidationError(
            f"column {date!r} not found in the log (columns: {list(log.columns)}); "
            "pass date= with the name of the date column"
        )
    dates = pd.to_datetime(log[date])
    begin = _as_of(start) if start is not None else dates.min().normalize()
    stop = _as_of(end) if end is not None else dates.max().normalize()
    index = pd.date_range(begin, stop, freq=freq)
    if len(index) == 0:
        index = pd.DatetimeIndex([stop])
    return index.rename("as_of")


def phase_snapshots(
    log: pd.DataFrame,
    dates: pd.DatetimeIndex | list | None = None,
    rules: PhaseRules | None = None,
    freq: str = "ME",
    customer: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
) -> pd.DataFrame:
    """Phases of all customers at several dates, with one set of thresholds.

    Parameters
    ----------
    log : pandas.DataFrame
        Clean transaction log.
    dates : list of date-like, optional
        Snapshot dates; default :func:`snapshot_dates` with ``freq`` (month ends).
    rules : PhaseRules, optional
        Thresholds; unset ones are derived once from the purchases up to the last date and
        used for every snapshot, so phases are comparable over time.
    freq : str
        Pandas offset alias of the default dates.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (every customer who bought on or before the last date),
        one column per date (``DatetimeIndex`` named ``as_of``), values the state
        (ordered categorical :data:`STATES`: ``not_yet_customer`` before the first
        purchase, else the phase). ``attrs["rules"]`` holds the thresholds used.
    """
    when = (
        snapshot_dates(log, freq=freq, date=date)
        if dates is None
        else pd.DatetimeIndex([_as_of(d) for d in dates], name="as_of")
    )
    if len(when) == 0:
        raise DataValidationError("phase_snapshots needs at least one date in dates=")
    when = when.sort_values().unique().rename("as_of")
    periods = _periods(log, customer, date, amount if amount in log.columns else None)
    last_day = day_number(when[-1])
    if last_day < int(periods["day"].min()):
        raise DataValidationError(
            f"every snapshot date is before the first purchase ({periods['date'].min().date()})"
            "; pick later dates"
        )
    resolved = (PhaseRules() if rules is None else rules).resolve(
        _ipts(periods, last_day), history_days=_history_days(periods, last_day, "the last date")
    )
    known = np.sort(periods.loc[periods["day"] <= last_day, "customer_id"].unique())
    frame = pd.DataFrame(index=pd.Index(known, name="customer_id"))
    columns = {}
    for ts in when:
        table = _assign(periods, day_number(ts), resolved)
        state = pd.Series(table["phase"].astype(str).to_numpy(), index=table["customer_id"])
        columns[ts] = pd.Categorical(
            state.reindex(frame.index).fillna(NOT_YET).to_numpy(), dtype=STATE_DTYPE
        )
    frame = pd.DataFrame(columns, index=frame.index)
    frame.columns = pd.DatetimeIndex(frame.columns, name="as_of")
    frame.attrs = {"rules": resolved.to_dict()}
    return frame


def phase_sizes(snapshots: pd.DataFrame, include_not_yet: bool = False) -> pd.DataFrame:
    """Number of customers per phase at each snapshot date.

    Returns
    -------
    pandas.DataFrame
        Index ``as_of``, one column per phase (and ``not_yet_customer`` if asked).
    """
    states = STATES if include_not_yet else PHASES
    sizes = pd.DataFrame(
        {ts: snapshots[ts].value_counts().reindex(list(states), fill_value=0) for ts in snapshots}
    ).T
    sizes.index = pd.DatetimeIndex(sizes.index, name="as_of")
    sizes.columns.name = "phase"
    return sizes.astype(np.int64)


def transition_matrix(
    snapshots: pd.DataFrame,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    normalize: bool = False,
) -> pd.DataFrame:
    """Phase transitions between snapshots: counts or row-normalised probabilities.

    Parameters
    ----------
    snapshots : pandas.DataFrame
        Output of :func:`phase_snapshots`.
    start, end : date-like, optional
        Two snapshot dates; the matrix counts moves from ``start`` to ``end``. Without
        them, moves between every pair of consecutive snapshots are pooled.
    normalize : bool
        Divide each row by its total: the probability of each destination phase given the
        origin state.

    Returns
    -------
    pandas.DataFrame
        Rows ``from``: the origin states that hold at least one customer (``not_yet_customer``
        for customers acquired in between), so every row sums to one when normalised and
        the counts add up to the customers known at the later date(s). Columns ``to``: the
        five phases.
    """
    columns = list(snapshots.columns)
    if (start is None) != (end is None):
        raise DataValidationError("pass both start and end, or neither")
    if start is None:
        if len(columns) < 2:
            raise DataValidationError("transition_matrix needs at least two snapshot dates")
        pairs = list(itertools.pairwise(columns))
    else:
        a, b = _as_of(start), _as_of(end)
        missing = [str(d.date()) for d in (a, b) if d not in snapshots.columns]
        if missing:
            raise DataValidationError(
                f"dates {missing} are not snapshot dates; choose from "
                f"{[str(c.date()) for c in columns]}"
            )
        if not a < b:
            raise DataValidationError(f"start {a.date()} must be before end {b.date()}")
        pairs = [(a, b)]
    origin = np.concatenate([snapshots[a].astype(str).to_numpy() for a, _ in pairs])
    target = np.concatenate([snapshots[b].astype(str).to_numpy() for _, b in pairs])
    known = target != NOT_YET
    counts = pd.crosstab(
        pd.Categorical(origin[known], categories=STATES),
        pd.Categorical(target[known], categories=STATES),
        dropna=False,
    )
    counts = counts.reindex(index=list(STATES), columns=list(PHASES), fill_value=0)
    counts = counts.loc[counts.sum(axis=1) > 0]
    counts.index.name, counts.columns.name = "from", "to"
    counts = counts.astype(np.int64)
    if normalize:
        return counts.div(counts.sum(axis=1), axis=0)
    return counts


def revenue_by_phase(
    log: pd.DataFrame,
    snapshots: pd.DataFrame,
    period: Literal["next", "previous"] = "next",
    customer: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
) -> pd.DataFrame:
    """Revenue of the customers in each phase, per snapshot.

    Parameters
    ----------
    log : pandas.DataFrame
        Clean transaction log with an amount column.
    snapshots : pandas.DataFrame
        Output of :func:`phase_snapshots`.
    period : {"next", "previous"}
        ``"next"``: revenue in the period after each snapshot (after it, up to and
        including the next snapshot date), by the phase at the snapshot: what each phase
        brings in next. The last snapshot has no next period and is left out.
        ``"previous"``: revenue in the period up to and including each snapshot date (from
        the day after the previous one; from the start of the log for the first), by the
        phase at the snapshot.

    Returns
    -------
    pandas.DataFrame
        Index ``as_of``, one column per phase, revenue in the log's currency; with
        ``period="next"`` also ``not_yet_customer``: revenue of customers acquired in
        the period, so each row adds up to the period's total revenue.
    """
    for column in (customer, date, amount):
        if column not in log.columns:
            raise DataValidationError(
                f"column {column!r} not found in the log (columns: {list(log.columns)}); "
                "revenue_by_phase needs customer, date and amount columns"
            )
    if period not in ("next", "previous"):
        raise DataValidationError(f"period must be 'next' or 'previous', got {period!r}")
    dates = list(snapshots.columns)
    states = STATES if period == "next" else PHASES
    when = pd.to_datetime(log[date]).dt.normalize()
    rows = {}
    for i, ts in enumerate(dates):
        if period == "next":
            if i + 1 == len(dates):
                break
            window = (when > ts) & (when <= dates[i + 1])
        else:
            window = (when <= ts) & (when > dates[i - 1]) if i else when <= ts
        spend = log.loc[window].groupby(customer)[amount].sum()
        phase = snapshots[ts].reindex(spend.index)
        by_phase = spend.groupby(phase.astype(str).fillna(NOT_YET)).sum()
        rows[ts] = by_phase.reindex(list(states), fill_value=0.0)
    table = pd.DataFrame(rows).T.astype(float)
    table.index = pd.DatetimeIndex(table.index, name="as_of")
    table.columns.name = "phase"
    return table


def phase_label(state: str) -> str:
    """Readable label of a state id, e.g. ``"at_risk"`` → ``"At risk"``.

    Raises
    ------
    KeyError
        If ``state`` is not one of :data:`STATES`; the message lists them.
    """
    if state not in STATE_LABELS:
        raise KeyError(f"unknown phase {state!r}; states: {list(STATES)}")
    return STATE_LABELS[state]


def readable(table: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """A copy of a phase table for display, with readable labels.

    State ids in the index, the columns and in ``phase``-like categorical values become
    their :data:`STATE_LABELS`; the axis names ``as_of``, ``phase``, ``from`` and ``to``
    become "Snapshot date", "Phase", "From state" and "To phase". The data are unchanged.
    Use it on what students see (``phase_sizes``, ``transition_matrix``,
    ``revenue_by_phase``, value counts); compute with the ids.
    """

    def relabel(index: pd.Index) -> pd.Index:
        if isinstance(index, pd.MultiIndex):
            levels = [relabel(level) for level in index.levels]
            return index.set_levels(levels).set_names([_AXIS_LABELS.get(n, n) for n in index.names])
        name = _AXIS_LABELS.get(index.name, index.name)
        if index.dtype == object or isinstance(index.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            index = pd.Index([STATE_LABELS.get(v, v) for v in index], dtype=object)
        return index.rename(name)

    out = table.copy()
    out.index = relabel(out.index)
    if isinstance(out, pd.DataFrame):
        out.columns = relabel(out.columns)
        for column in out.columns:
            if isinstance(out[column].dtype, pd.CategoricalDtype):
                out[column] = out[column].cat.rename_categories(lambda c: STATE_LABELS.get(c, c))
    elif isinstance(out.dtype, pd.CategoricalDtype):
        out = out.cat.rename_categories(lambda c: STATE_LABELS.get(c, c))
    return out
