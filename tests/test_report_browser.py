"""``clvlab report`` in a real browser: headless Chromium (Debian's ``chromium`` package,
installed with ``make browser``) loads the HTML report from disk and shows its sections,
its figures and no error output."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from clvlab import report
from clvlab.cli import main

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed; 'make browser' installs Debian's chromium package",
    ),
]

# Which tag loads a resource through which attribute (links are not loads: <a href> is not here).
RESOURCES = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "embed": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
    "object": "data",
    "link": "href",
}


class _Page(HTMLParser):
    """What the rendered page holds: its headings, the resources its tags load, the figures
    (``<img>`` sources and inline ``<svg>`` elements), the output areas that show standard
    error, and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.resources: list[tuple[str, str]] = []
        self.images: list[str] = []
        self.svgs = 0
        self.stderr_outputs = 0
        self.text: list[str] = []
        self._heading: list[str] | None = None
        self._hidden = 0  # depth inside <script> / <style>, whose text is not shown

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in RESOURCES and values.get(RESOURCES[tag]):
            self.resources.append((tag, values[RESOURCES[tag]]))
        if tag == "img":
            self.images.append(values.get("src", ""))
        self.svgs += tag == "svg"
        self.stderr_outputs += values.get("data-mime-type") == "application/vnd.jupyter.stderr"
        self._hidden += tag in ("script", "style")
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            # nbconvert appends a "¶" anchor link to every heading
            self.headings.append("".join(self._heading).removesuffix("¶").strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if not self._hidden:
            self.text.append(data)


def _chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess:
    """Headless Chromium with a throw-away profile and every host name unresolvable, so the
    page can load nothing from the network even where the machine could."""
    command = [
        CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
        f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND", *arguments,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def _shown(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells of the executed notebook that the HTML report shows."""
    hidden = set(report.REMOVE_FROM_HTML)
    return [cell for cell in notebook.cells if not hidden & set(cell.metadata.get("tags", []))]


@pytest.fixture(scope="module")
def report_folder(messy_export, tmp_path_factory) -> Path:
    """The report on the messy synthetic export (151 customers, MLE: about a minute)."""
    out = tmp_path_factory.mktemp("browser") / "report"
    assert main(["report", str(messy_export), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def page(report_folder, tmp_path_factory) -> _Page:
    """The report's DOM after Chromium has loaded it from ``file://``."""
    url = (report_folder / "report.html").as_uri()
    dom = _chromium("--dump-dom", url, profile=tmp_path_factory.mktemp("profile")).stdout
    parsed = _Page()
    parsed.feed(dom)
    return parsed


def test_the_browser_shows_every_section_of_the_report(report_folder, page):
    notebook = nbformat.read(report_folder / "report.ipynb", as_version=4)
    expected = [
        line.lstrip("#").strip()
        for cell in _shown(notebook)
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if re.match(r"#{1,6} ", line)
    ]
    assert len(expected) >= 10
    assert page.headings == expected
    assert "Exercises: adapt it" not in page.headings and "Solutions" not in page.headings


def test_every_figure_is_embedded_and_shows_something(report_folder, page):
    notebook = nbformat.read(report_folder / "report.ipynb", as_version=4)
    figures = [
        output
        for cell in _shown(notebook)
        for output in cell.get("outputs", [])
        if {"image/png", "image/svg+xml"} & set(output.get("data", {}))
    ]
    # the tracking plot, the Lorenz curve and the phases (a CSS background is no figure)
    assert len(figures) >= 3
    assert len(page.images) + page.svgs == len(figures)
    for source in page.images:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix), source[:80]
        image = Image.open(io.BytesIO(base64.b64decode(source.removeprefix(prefix))))
        image.load()
        assert image.width > 50 and image.height > 50
        assert len(set(image.convert("L").getextrema())) == 2  # not one colour


def test_the_page_loads_nothing_from_outside(report_folder, page):
    outside = [(tag, url) for tag, url in page.resources if not url.startswith("data:")]
    assert outside == []
    html = (report_folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", html)


def test_there_is_no_error_output(page):
    text = " ".join(page.text)
    assert page.stderr_outputs == 0
    assert "Traceback" not in text
    assert not re.search(r"\b\w*(Error|Exception|Warning):", text), re.findall(
        r".{80}\b\w*(?:Error|Exception|Warning):.{80}", text
    )


def test_the_screenshot_is_not_blank(report_folder, tmp_path):
    shot = tmp_path / "report.png"
    _chromium(
        f"--screenshot={shot}",
        "--window-size=1200,1800",
        (report_folder / "report.html").as_uri(),
        profile=tmp_path / "profile",
    )
    image = Image.open(shot)
    assert image.size == (1200, 1800)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 100  # text and figures, not one colour
