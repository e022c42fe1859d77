"""``clvlab report``: bad input stops at once with one line; a run writes all four files."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest
from jupyter_client.kernelspec import NoSuchKernel
from nbclient.exceptions import DeadKernelError
from papermill.exceptions import PapermillExecutionError

from clvlab import datasets, report
from clvlab.cli import report as report_command

FILES = {"report.html", "report.ipynb", "customers.csv", "validation.csv"}


def _csv(tmp_path, rows, header="Kunde;Datum;Umsatz", name="log.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{dir}/missing.csv"], r"cannot read '.*missing.csv': no such file"),
        (["{pdf}"], r"cannot read .*unknown file type '\.pdf'; use \.csv, \.parquet or \.xlsx"),
        (["{messy}", "--customer-col", "Kunde"], r"'Kunde' given with --customer-col is not in"),
        (["{ambiguous}"], r"several columns could be the purchase date: 'Bestelldatum', "
                          r"'Rechnungsdatum'; name one with --date-col"),
        (["{no_amount}"], r"needs the purchase values: no amount, .* --amount-col"),
        (["{no_valid}"], r"no valid rows left"),
        (["{short}"], r"the log covers only 4 days .*at least 28 days"),
        (["{messy}", "--calibration-end", "2025-06-26"],
         r"leaves no room for a holdout.*\(on the command line: --calibration-end\)"),
        (["{messy}", "--calibration-end", "30/06/2024"], r"ambiguous \(day or month first\?\)"),
        (["{messy}", "--out", "{pdf}"], r"is a file; name a folder for the report"),
        (["{messy}", "--out", "{dir}/a/b"], r"folder '.*/a' does not exist"),
        (["{messy}", "--method", "advi"], r"invalid choice: 'advi'"),
    ],
)  # fmt: skip
def test_bad_input_stops_with_one_line_before_any_fit(
    argv, message, tmp_path, messy_export, cli, fake_template
):
    paths = {
        "dir": tmp_path,
        "messy": messy_export,
        "pdf": _csv(tmp_path, [], name="log.pdf"),
        "ambiguous": _csv(tmp_path, ["1;2024-01-01;2024-01-02;5"],
                          header="Kunde;Bestelldatum;Rechnungsdatum;Umsatz", name="a.csv"),
        "no_amount": _csv(tmp_path, ["1;2024-01-01"], header="Kunde;Datum", name="n.csv"),
        "no_valid": _csv(tmp_path, ["1;kein Datum;5,00", ";2024-01-01;5,00"], name="v.csv"),
        "short": _csv(tmp_path, ["1;2024-01-01;5,00", "1;2024-01-05;5,00"], name="s.csv"),
    }  # fmt: skip
    out = tmp_path / "out"
    run = cli(
        "report", *[a.format(**paths) for a in argv], *(["--out", out] * ("--out" not in argv))
    )
    assert re.search(message, run.error_line()), run.err
    assert run.error_line().startswith("clvlab report")
    assert not out.exists() and fake_template == []  # nothing written, nothing run


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            PapermillExecutionError(7, 7, "x = f()", "ValueError", "bad\nthing", ["traceback"]),
            "the report stopped in cell 7 with ValueError: bad thing; no files were written",
        ),
        (
            NoSuchKernel("python3"),
            "no Python kernel for Jupyter is installed to run the report; install one with "
            "'pip install ipykernel' (no files were written)",
        ),
        (
            DeadKernelError("Kernel died"),
            "the report's Python kernel stopped: Kernel died; no files were written",
        ),
    ],
)
def test_a_failing_template_is_one_line_and_writes_nothing(
    messy_export, tmp_path, cli, monkeypatch, error, message
):
    def fail(parameters, notebook, **options):
        raise error

    monkeypatch.setattr(report, "execute", fail)
    run = cli("report", messy_export, "--out", tmp_path / "out")
    assert run.code == 2 and "Traceback" not in run.err
    assert run.err.strip().splitlines()[-1] == f"clvlab report: error: {message}"
    assert not (tmp_path / "out").exists()


def test_the_command_passes_the_template_its_parameters(messy_export, tmp_path, cli, fake_template):
    out = tmp_path / "report"
    run = cli(
        "report", messy_export, "--calibration-end", "31.12.2024", "--language", "de",
        "--method", "nuts", "--model", "pareto-nbd", "--horizon", "26", "--margin", "0.3",
        "--out", out,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert {p.name for p in out.iterdir()} == FILES
    assert run.out.split() == [str(out / name) for name in report_command.FILES]
    (parameters,) = fake_template
    notebook = nbformat.read(report.template_path(), as_version=4)
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert set(parameters) <= set(re.findall(r"^(\w+)\s*=", cell.source, flags=re.MULTILINE))
    assert parameters["calibration_end"] == "2024-12-31" and parameters["language"] == "de"
    assert (parameters["model"], parameters["method"]) == ("pareto-nbd", "nuts")
    assert (parameters["horizon"], parameters["margin"]) == (26.0, 0.3)
    assert parameters["data_file"] == str(messy_export.resolve())
    assert "detected: a known name for the customer id" in run.err
    assert "calibration end given" in run.err


def test_earlier_results_are_replaced_and_other_files_kept(
    messy_export, tmp_path, cli, fake_template
):
    out = tmp_path / "report"
    out.mkdir()
    (out / "customers.csv").write_text("old")
    (out / "notes.txt").write_text("mine")
    assert cli("report", messy_export, "--out", out).code == 0
    assert (out / "customers.csv").read_text() != "old" and (out / "notes.txt").exists()
    assert not [p for p in out.iterdir() if ".tmp." in p.name]


def _check_report(out, run, customers: int) -> pd.DataFrame:
    assert run.code == 0, run.err[-3000:]
    assert {p.name for p in out.iterdir()} == FILES
    steps = re.findall(r"clvlab report: \[ *\d+ s\] step (\d+)/(\d+)", run.err)
    assert steps and steps[0][0] == "0" and steps[-1][0] == steps[-1][1]
    table = pd.read_csv(out / "customers.csv", dtype={"customer_id": str})
    assert table.columns.tolist() == report.CUSTOMER_COLUMNS
    assert len(table) == table["customer_id"].nunique() == customers
    assert table[["probability_alive", "expected_purchases", "clv"]].notna().all().all()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') >= 3  # the figures (img tags), embedded
    executed = nbformat.read(out / "report.ipynb", as_version=4)
    outputs = [o for cell in executed.cells for o in cell.get("outputs", [])]
    assert outputs and not [o for o in outputs if o["output_type"] == "error"]
    assert not re.search(r"<script[^>]+src=", html)
    return table


@pytest.mark.slow
def test_report_on_the_cdnow_sample(tmp_path, cli):
    out = tmp_path / "cdnow"
    run = cli("report", datasets.data_path("cdnow_transactions.csv"), "--out", out)
    table = _check_report(out, run, customers=2357)
    validation = pd.read_csv(out / "validation.csv", index_col=[0, 1])
    assert validation.loc[("rows", "total"), "count"] == 6919
    assert "calibration end default: the last 25% of the log's days are held out" in run.err
    assert table["clv"].sum() > 0


@pytest.mark.slow
def test_report_on_the_messy_export_in_german(messy_export, tmp_path, cli):
    out = tmp_path / "messy"
    run = cli("report", messy_export, "--language", "de", "--out", out)
    table = _check_report(out, run, customers=151)
    assert "00001" in set(table["customer_id"]) and "99999" not in set(table["customer_id"])
    assert table.loc[table["customer_id"] == "88888", "clv"].item() == 0
    validation = pd.read_csv(out / "validation.csv", index_col=[0, 1])
    rows = validation.loc["rows", "count"]
    assert rows["total"] == rows.drop("total").sum() == 471
    assert validation.loc[("customers", "bad_date"), "count"] == 1
    at_risk = table.loc[table["phase"] == "at_risk", "recommended_measures"]
    assert at_risk.str.contains("Rückgewinnung").all()
