"""clvlab.report: the checks before the template runs, the per-customer table, the HTML."""

from __future__ import annotations

import base64
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from clvlab import datasets, report, rfm
from clvlab.errors import ClvlabError, DataValidationError
from clvlab.models import BetaGeo, GammaGamma

# The messy export of tests/conftest.py: 151 valid customers, one lost entirely.
MESSY_VALID_CUSTOMERS = 151
MESSY_LOST_CUSTOMER = "99999"


def _write(tmp_path, rows, name="log.csv", header="Kunde;Datum;Umsatz"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _regular_log(days: int, customers: int = 20) -> list[str]:
    """Every customer buys on day 0 and then every 3 days, for ``days`` days."""
    start = pd.Timestamp("2024-01-01")
    return [
        f"{c:04d};{(start + pd.Timedelta(days=d)).date()};10,00"
        for c in range(customers)
        for d in range(0, days + 1, 3)
    ]


def test_the_template_is_found_in_the_checkout_and_has_every_parameter():
    path = report.template_path()
    assert path.parent.name == "notebooks" and path.name == report.TEMPLATE
    notebook = nbformat.read(path, as_version=4)
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    names = set(re.findall(r"^(\w+)\s*=", cell.source, flags=re.MULTILINE))
    # the parameters `clvlab report` passes (tests/test_cli_report.py checks the call)
    assert names >= {
        "data_file", "customer_col", "date_col", "amount_col", "calibration_end", "horizon",
        "margin", "discount_rate", "model", "method", "language", "output_dir",
    }  # fmt: skip


def test_steps_are_the_sections_of_the_template_without_the_exercises():
    steps = report._steps(nbformat.read(report.template_path(), as_version=4))
    titles = list(dict.fromkeys(steps.values()))
    assert titles[0].startswith("step 0/") and titles[1].startswith("step 1/")
    assert not any("Exercises" in t or "Solutions" in t for t in titles)
    n = int(titles[1].split("/")[1].split(":")[0])
    assert len(titles) == n + 1


def test_load_counts_every_row_of_the_messy_export(messy_export):
    inputs = report.load(messy_export)
    assert (inputs.columns.customer, inputs.columns.date, inputs.columns.amount) == (
        "Kundennummer",
        "Bestelldatum",
        "Umsatz",
    )
    validation = inputs.validation
    assert validation.reconciles
    assert validation.removed == {
        "missing_customer": 6,
        "bad_date": 4,
        "bad_amount": 3,
        "negative_amount": 5,
    }
    assert validation.flagged["duplicate"] == 7
    assert validation.customers_kept == MESSY_VALID_CUSTOMERS
    assert validation.lost_examples == [MESSY_LOST_CUSTOMER]
    assert "00001" in set(inputs.log["customer_id"])  # leading zeros kept


def test_the_default_calibration_end_holds_out_the_last_quarter(messy_export):
    inputs = report.load(messy_export)
    first, last = inputs.log["date"].min(), inputs.log["date"].max()
    span = (last - first).days
    expected = first + pd.Timedelta(days=int(np.floor(0.75 * span)))
    assert inputs.calibration_end == str(expected.date())
    assert inputs.observation_end == str(last.date()) and not inputs.calibration_end_given
    assert "default: the last 25% of the log's days are held out" in inputs.describe_periods()
    given = report.load(messy_export, calibration_end="2024-12-31")
    assert given.calibration_end == "2024-12-31" and "calibration end given" in (
        given.describe_periods()
    )


def test_a_log_too_short_for_a_holdout_is_refused(tmp_path):
    path = _write(tmp_path, _regular_log(days=20))
    with pytest.raises(DataValidationError, match=r"covers only 18 days .* at least 28 days"):
        report.load(path)


@pytest.mark.parametrize("end", ["2023-12-01", "2024-03-25", "2024-04-30"])
def test_a_calibration_end_without_room_for_a_holdout_is_refused(tmp_path, end):
    path = _write(tmp_path, _regular_log(days=90))
    with pytest.raises(
        DataValidationError,
        match=r"leaves no room .* choose a date between 2024-01-01 and 2024-03-24",
    ):
        report.load(path, calibration_end=end)


def test_too_few_repeat_buyers_are_refused(tmp_path):
    path = _write(tmp_path, _regular_log(days=90, customers=5))
    with pytest.raises(DataValidationError, match=r"only 5 customers bought again .*\(at least 10"):
        report.load(path)


def test_a_log_without_amounts_is_refused(tmp_path):
    path = _write(tmp_path, ["1;2024-01-01", "2;2024-01-02"], header="Kunde;Datum")
    with pytest.raises(DataValidationError, match=r"needs the purchase values: .*--amount-col"):
        report.load(path)


def test_a_log_without_valid_rows_is_refused(tmp_path):
    path = _write(tmp_path, ["1;kein Datum;5,00", ";2024-01-01;5,00"])
    with pytest.raises(DataValidationError, match="no valid rows left"):
        report.load(path)


def test_an_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "log.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(ClvlabError, match=r"unknown file type '\.pdf'"):
        report.load(path)


@pytest.fixture(scope="module")
def messy_fit(messy_export):
    inputs = report.load(messy_export)
    whole = rfm.summarize(inputs.log, time_unit="W")
    paying = whole[(whole["frequency"] > 0) & (whole["monetary_value"] > 0)]
    return (
        inputs,
        whole,
        BetaGeo().fit(whole, method="mle"),
        GammaGamma().fit(paying, method="mle"),
    )


def test_customers_with_only_free_repeat_orders_get_clv_zero(messy_fit):
    _, whole, purchases, spend = messy_fit
    values = report.customer_values(purchases, spend, whole, horizon=52, approximation_draws=20)
    assert values["customer_id"].tolist() == whole["customer_id"].tolist()
    assert values.attrs["free_customers"] == 1
    free = values.set_index("customer_id").loc["88888"]
    assert free["clv"] == 0 and free["expected_purchases"] > 0
    assert (values.drop(index=values.index[values["customer_id"] == "88888"])["clv"] > 0).all()


def test_the_customer_table_has_one_row_per_valid_customer(messy_fit):
    from clvlab import phases

    inputs, whole, purchases, spend = messy_fit
    values = report.customer_values(purchases, spend, whole, horizon=52, approximation_draws=20)
    table = report.customer_table(
        values, phases.assign_phases(inputs.log, inputs.observation_end), "de"
    )
    assert table.columns.tolist() == report.CUSTOMER_COLUMNS
    assert len(table) == table["customer_id"].nunique() == MESSY_VALID_CUSTOMERS
    assert table["clv"].is_monotonic_decreasing
    at_risk = table.loc[table["phase"] == "at_risk", "recommended_measures"]
    assert at_risk.str.contains("Rückgewinnung").all()
    with pytest.raises(ValueError, match="different customers"):
        report.customer_table(values.iloc[1:], phases.assign_phases(inputs.log, "2025-06-01"), "en")


def test_the_html_is_self_contained_with_figures_and_without_code(tmp_path):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    figure = new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})
    notebook = new_notebook(
        cells=[
            new_markdown_cell("## A section"),
            new_code_cell("secret_code = 1", outputs=[figure]),
            new_markdown_cell("## Solutions", metadata={"tags": ["solution"]}),
            new_code_cell("print('solution')", metadata={"tags": ["solution"]}),
        ]
    )
    path = tmp_path / "report.ipynb"
    nbformat.write(notebook, path)
    html = report.to_html(path)
    assert f"data:image/png;base64,{png}" in html
    assert "secret_code" not in html and "Solutions" not in html
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=\"https?:", html)
    assert "secret_code" in report.to_html(path, show_code=True)


def test_the_template_runs_on_the_cdnow_sample_by_default():
    notebook = nbformat.read(report.template_path(), as_version=4)
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert re.search(r"^data_file = None", cell.source, flags=re.MULTILINE)
    assert "cdnow_transactions.csv" in "".join(c.source for c in notebook.cells)
    assert datasets.data_path("cdnow_transactions.csv").is_file()
