"""The report on a user's own transaction log: inputs, checks, the template, the outputs.

The report is the template notebook ``11_your_data_template.ipynb`` run on a file with
papermill (:func:`execute`) and rendered to a self-contained HTML page (:func:`to_html`).
The template and ``clvlab report`` share the steps before any model is fitted:

* :func:`load` reads the file (:func:`clvlab.transactions.read`), chooses the columns
  (:func:`clvlab.columns.detect`), validates the log (:func:`clvlab.transactions.validate`)
  and settles the calibration period (:func:`periods`); every bad input stops here, in a
  second or two, with one message that says the fix;
* :func:`customer_table` builds the per-customer table of ``customers.csv``.

Periods: purchases up to the calibration end fit the models that are checked on the
holdout period after it (to the last purchase in the log). Without a calibration end the
last quarter of the log is held out: calibration end = first purchase day +
floor(0.75 x days from the first to the last purchase). The values per customer (CLV,
P(alive), phase) then come from the models refitted on the whole log, as of its last day.

The template lives once, in ``notebooks/``; wheels carry a copy as
``clvlab/templates/`` (copied by ``setup.py``), found by :func:`template_path`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvlab import columns, lifecycle, transactions
from clvlab.errors import DataValidationError
from clvlab.transactions import ValidationReport

TEMPLATE = "11_your_data_template.ipynb"
"""File name of the template notebook."""

#: Where the template is: inside an installed wheel, then in a source checkout.
TEMPLATE_DIRS = (Path(__file__).parent / "templates", Path(__file__).parents[2] / "notebooks")

HOLDOUT_SHARE = 0.25
"""Share of the log's days held out when no calibration end is given."""
MIN_HOLDOUT_DAYS = 7
"""Fewest days between the calibration end and the last purchase (a week of holdout)."""
MIN_REPEAT_BUYERS = 10
"""Fewest customers with a repeat purchase in the calibration period: the spend model is
fitted on them, and the purchase model learns the repeat rate from them."""

FRAMEWORK = "clv_phases"
"""The framework of the phase catalog whose measures the report recommends (the one with
measures for all five operational phases)."""

CUSTOMER_COLUMNS = [
    "customer_id",
    "phase",
    "probability_alive",
    "expected_purchases",
    "clv",
    "clv_low",
    "clv_high",
    "recommended_measures",
]
"""Columns of ``customers.csv``, in order."""

REMOVE_FROM_HTML = ("solution", "exercise")
"""Cell tags left out of the HTML report (the exercises are for people editing the notebook)."""


def template_path() -> Path:
    """Path of the template notebook: the installed package's copy (a wheel), or the
    repository's ``notebooks/`` (a source checkout or editable install)."""
    for folder in TEMPLATE_DIRS:
        if (folder / TEMPLATE).is_file():
            return folder / TEMPLATE
    places = " or ".join(str(folder) for folder in TEMPLATE_DIRS)
    raise FileNotFoundError(f"clvlab's report template '{TEMPLATE}' not found in {places}")


@dataclass
class Inputs:
    """A validated log and its periods, ready for the models.

    Attributes
    ----------
    log : DataFrame
        The clean log (``customer_id``, ``date``, ``amount``).
    validation : ValidationReport
        What validation removed and why; it reconciles every row and customer.
    columns : clvlab.columns.Columns
        Which raw columns were used, and why.
    calibration_end, observation_end : str
        Last day of the calibration period, and of the log (the holdout's end), ISO dates.
    calibration_end_given : bool
        False when the calibration end is the default (the last quarter held out).
    first_purchase : str
        First day of the log.
    repeat_buyers : int
        Customers with a purchase after their first purchase day, by the calibration end.
    """

    log: pd.DataFrame
    validation: ValidationReport
    columns: columns.Columns
    calibration_end: str
    observation_end: str
    calibration_end_given: bool
    first_purchase: str
    repeat_buyers: int

    @property
    def holdout_days(self) -> int:
        """Days from the calibration end to the last purchase."""
        return (pd.Timestamp(self.observation_end) - pd.Timestamp(self.calibration_end)).days

    def describe_periods(self) -> str:
        """The periods in words, saying whether the calibration end is the default."""
        how = (
            "given"
            if self.calibration_end_given
            else f"default: the last {HOLDOUT_SHARE:.0%} of the log's days are held out"
        )
        days = (pd.Timestamp(self.calibration_end) - pd.Timestamp(self.first_purchase)).days
        return (
            f"Calibration: {self.first_purchase} to {self.calibration_end} ({days} days; "
            f"calibration end {how}). Holdout: to {self.observation_end} "
            f"({self.holdout_days} days). Customers with a repeat purchase by the calibration "
            f"end: {self.repeat_buyers:,}."
        )


def load(
    path: str | Path,
    customer: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    calibration_end: str | None = None,
    **read_options: Any,
) -> Inputs:
    """Read, detect the columns, validate and settle the periods; stop on bad input.

    Parameters
    ----------
    path : str or Path
        The export (CSV and other text, Parquet or Excel; see
        :func:`clvlab.transactions.read`).
    customer, date, amount : str, optional
        Column names; detected when not given (:func:`clvlab.columns.detect`).
    calibration_end : str, optional
        Last day of the calibration period (ISO date); by default the last quarter of the
        log is held out.
    **read_options
        ``encoding`` and ``sep`` for :func:`clvlab.transactions.read`.

    Raises
    ------
    ClvlabError
        The file cannot be read, a column is missing or ambiguous, the log has no amounts
        or no valid rows, or it is too short for a holdout (see :func:`periods`).
    """
    raw = transactions.read(path, **read_options)
    chosen = columns.detect(raw.columns, customer, date, amount)
    if chosen.amount is None:
        raise DataValidationError(
            f"the report needs the purchase values: {chosen.reasons['amount']}"
        )
    log, validation = transactions.validate(
        columns.amounts(raw, chosen), chosen.customer, chosen.date, chosen.amount
    )
    return periods(log, validation, chosen, calibration_end)


def periods(
    log: pd.DataFrame,
    validation: ValidationReport,
    chosen: columns.Columns,
    calibration_end: str | None = None,
) -> Inputs:
    """Settle the calibration and holdout periods of a clean log and check them.

    Raises
    ------
    DataValidationError
        The calibration end lies outside the log or leaves less than
        :data:`MIN_HOLDOUT_DAYS` of holdout, or fewer than :data:`MIN_REPEAT_BUYERS`
        customers bought again by then.
    """
    first, last = log["date"].min().normalize(), log["date"].max().normalize()
    span = (last - first).days
    if calibration_end is None:
        if span * HOLDOUT_SHARE < MIN_HOLDOUT_DAYS:
            raise DataValidationError(
                f"the log covers only {span} days ({first.date()} to {last.date()}): too "
                f"short to hold out its last quarter (at least {MIN_HOLDOUT_DAYS} days) and "
                "check the model on it; use a log of at least "
                f"{int(np.ceil(MIN_HOLDOUT_DAYS / HOLDOUT_SHARE))} days"
            )
        end = first + pd.Timedelta(days=int(np.floor(span * (1 - HOLDOUT_SHARE))))
    else:
        end = pd.Timestamp(calibration_end).normalize()
        if end < first or (last - end).days < MIN_HOLDOUT_DAYS:
            raise DataValidationError(
                f"calibration_end {end.date()} leaves no room for a holdout: the log runs "
                f"from {first.date()} to {last.date()} and the holdout needs at least "
                f"{MIN_HOLDOUT_DAYS} days after the calibration end; choose a date between "
                f"{first.date()} and {(last - pd.Timedelta(days=MIN_HOLDOUT_DAYS)).date()}"
            )
    calibration = log[log["date"] < end + pd.Timedelta(days=1)]
    days = calibration.assign(day=calibration["date"].dt.normalize())
    repeat = int((days.groupby("customer_id")["day"].nunique() > 1).sum())
    if repeat < MIN_REPEAT_BUYERS:
        raise DataValidationError(
            f"only {repeat} customers bought again by the calibration end {end.date()} (at "
            f"least {MIN_REPEAT_BUYERS} are needed to fit the purchase and spend models); "
            "choose a later calibration_end or a longer log"
        )
    return Inputs(
        log=log,
        validation=validation,
        columns=chosen,
        calibration_end=str(end.date()),
        observation_end=str(last.date()),
        calibration_end_given=calibration_end is not None,
        first_purchase=str(first.date()),
        repeat_buyers=repeat,
    )


def customer_table(values: pd.DataFrame, phase_table: pd.DataFrame, language: str) -> pd.DataFrame:
    """One row per customer: phase, P(alive), expected purchases, CLV with its interval and
    the measures the catalog recommends for the phase.

    Parameters
    ----------
    values : DataFrame
        :func:`clvlab.clv.customer_lifetime_value` of every customer.
    phase_table : DataFrame
        :func:`clvlab.phases.assign_phases` of the same customers.
    language : {"en", "de"}
        Language of the measures.

    Returns
    -------
    DataFrame
        :data:`CUSTOMER_COLUMNS`, sorted by CLV, highest first.

    Raises
    ------
    ValueError
        The two tables do not hold the same customers.
    """

    measures = lifecycle.with_measures(phase_table, FRAMEWORK, language)
    if set(values["customer_id"]) != set(measures["customer_id"]):
        raise ValueError("the CLV and phase tables hold different customers")
    table = values.merge(measures[["customer_id", "phase", "recommended_measures"]])
    table = table.sort_values(["clv", "customer_id"], ascending=[False, True], kind="stable")
    return table[CUSTOMER_COLUMNS].reset_index(drop=True)


def customer_values(
    transaction_model: Any, spend_model: Any, summary: pd.DataFrame, **settings: Any
) -> pd.DataFrame:
    """:func:`clvlab.clv.customer_lifetime_value` of every customer of ``summary``.

    Customers with repeat purchases whose orders were all free (``monetary_value`` 0) are
    outside the Gamma-Gamma model (positive spend); their expected spend is their observed
    spend, 0, so their CLV is 0 while P(alive) and the expected purchases come from the
    transaction model as for everyone else. ``attrs["free_customers"]`` counts them.

    Parameters
    ----------
    transaction_model, spend_model
        Fitted models (a buy-till-you-die model and Gamma-Gamma).
    summary : DataFrame
        :func:`clvlab.rfm.summarize` of the customers.
    **settings
        ``horizon``, ``discount_rate``, ``margin``, ``time_unit`` and the other keywords
        of :func:`clvlab.clv.customer_lifetime_value`.
    """
    from clvlab.clv import customer_lifetime_value

    free = ((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).to_numpy()
    parts = [
        customer_lifetime_value(transaction_model, spend, summary[rows], **settings)
        for spend, rows in ((spend_model, ~free), (0.0, free))
        if rows.any()
    ]
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    order = pd.Series(np.arange(len(summary)), index=summary["customer_id"].to_numpy())
    table = table.iloc[np.argsort(order[table["customer_id"]].to_numpy())].reset_index(drop=True)
    table.attrs = parts[0].attrs | {"free_customers": int(free.sum())}
    return table


# ------------------------------------------------------------------ running the template

Progress = Callable[[str], None]


def execute(
    parameters: Mapping[str, Any],
    notebook: Path,
    *,
    progress: Progress | None = None,
    cwd: Path | None = None,
    timeout: int = 3600,
) -> None:
    """Run the template with ``parameters`` by papermill and save it as ``notebook``.

    Cells tagged ``solution`` (the exercises' solutions) are not run. ``progress`` gets one
    line whenever a new section of the template starts: its number and title.

    Raises
    ------
    papermill.PapermillExecutionError
        A cell failed; the executed notebook (with the error) is saved all the same.
    """
    import nbformat
    import papermill

    template = template_path()
    steps = _steps(nbformat.read(template, as_version=4))
    shown: set[str] = set()

    def on_cell_start(cell: Any, cell_index: int) -> None:
        step = steps.get(cell.get("id", ""))
        if progress is not None and step and step not in shown:
            shown.add(step)
            progress(step)

    papermill.execute_notebook(
        str(template),
        str(notebook),
        parameters=dict(parameters),
        progress_bar=False,
        cwd=str(cwd) if cwd else None,
        kernel_name="python3",
        execution_timeout=timeout,
        on_cell_start=on_cell_start,
        skip_cells_with_tag="solution",
    )


def _steps(notebook: Any) -> dict[str, str]:
    """Cell id -> "step i/n: title" of the section (a ``## `` heading) each code cell is
    in; the cells before the first section are "setting up"; sections tagged
    :data:`REMOVE_FROM_HTML` are not steps of the report."""

    def heading(cell: Any) -> bool:
        tags = set(cell.metadata.get("tags", []))
        return (
            cell.cell_type == "markdown"
            and cell.source.startswith("## ")
            and not (tags & set(REMOVE_FROM_HTML))
        )

    headings = [cell for cell in notebook.cells if heading(cell)]
    steps, current = {}, f"step 0/{len(headings)}: setting up (starting Python, loading libraries)"
    for cell in notebook.cells:
        if heading(cell):
            title = cell.source.splitlines()[0].removeprefix("## ").strip()
            current = f"step {headings.index(cell) + 1}/{len(headings)}: {title}"
        elif cell.cell_type == "code" and "solution" not in cell.metadata.get("tags", []):
            steps[cell.get("id", "")] = current
    return steps


def to_html(notebook: Path, show_code: bool = False) -> str:
    """The executed notebook as one self-contained HTML page.

    Figures are embedded (PNG as data URIs), the page loads no script from the network
    (no RequireJS, no MathJax: the template writes no formulas), cells tagged
    :data:`REMOVE_FROM_HTML` are left out, and code cells show their output only unless
    ``show_code``.
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    page = (
        "{%- extends 'lab/index.html.j2' -%}\n"
        "{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}\n"
        "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}\n"
    )
    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"clvlab_report.html.j2": page})],
        template_file="clvlab_report.html.j2",
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    remove = TagRemovePreprocessor(remove_cell_tags=set(REMOVE_FROM_HTML), enabled=True)
    exporter.register_preprocessor(remove, enabled=True)
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    return body
