"""The report in a real browser: headless Chromium, driven by Playwright.

Opens ``report/report.html`` of the tiny end-to-end study (the session fixture
``study``) and of the 2 x 3 grid study (``grid_study``), and checks that every
figure decodes and shows something, that the page logs no console error and
throws no error, that at 1,280 and 390 px no element overflows horizontally,
and that printed to A4 PDF every column of every table is still there; it saves
full-page screenshots.

Needs Debian's ``chromium`` (``apt-get install chromium``; Playwright's own
browser downloads are not used).  Without it the test is skipped, unless the
environment variable CI is set: then it fails, so CI can never skip it.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlestudy.outputs import FIGURES

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MIN_INK = 0.01
"""Share of non-white pixels below which a figure counts as empty."""

IMAGES_JS = """
async () => {
  const out = [];
  for (const img of Array.from(document.images)) {
    let decoded = true;
    try { await img.decode(); } catch (e) { decoded = false; }
    const r = {alt: img.alt, complete: img.complete, decoded: decoded,
               width: img.naturalWidth, height: img.naturalHeight, ink: 0, colours: 0};
    if (decoded && img.naturalWidth > 0 && img.naturalHeight > 0) {
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      let ink = 0;
      for (let k = 0; k < px.length; k += 4) {
        const rgb = (px[k] << 16) | (px[k + 1] << 8) | px[k + 2];
        if (colours.size < 64) colours.add(rgb);
        if (rgb !== 0xffffff || px[k + 3] !== 255) ink++;
      }
      r.ink = ink / (canvas.width * canvas.height);
      r.colours = colours.size;
    }
    out.push(r);
  }
  return out;
}
"""


@dataclass
class PageCheck:
    """What the browser saw: each image, console errors and uncaught page errors."""

    images: list[dict] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything wrong with the page, one line each (empty when it is fine)."""
        out = [f"console error: {m}" for m in self.console_errors]
        out += [f"page error: {m}" for m in self.page_errors]
        for i, img in enumerate(self.images):
            if not (img["complete"] and img["decoded"] and img["width"] > 0 and img["height"] > 0):
                out.append(f"image {i} ({img['alt']}) does not decode")
            elif img["ink"] < MIN_INK or img["colours"] < 3:
                out.append(f"image {i} ({img['alt']}) is empty")
        return out


def require_browser() -> tuple[str, Callable]:
    """Chromium's path and Playwright's ``sync_playwright``; skip without them, or fail under CI."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = [
        what
        for what, found in [
            ("the chromium executable", chromium),
            ("the playwright package", sync_playwright),
        ]
        if found is None
    ]
    if missing:
        reason = f"no browser to test the report in: {' and '.join(missing)} not found"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set, where this test must run (.ci/run installs chromium)")
        pytest.skip(f"{reason} (apt-get install chromium)")
    return chromium, sync_playwright


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless Chromium with a fresh profile (see :func:`require_browser`)."""
    chromium, sync_playwright = require_browser()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield context
        context.close()


def check_page(browser, html: Path, screenshot: Path) -> PageCheck:
    """Open ``html`` from disk, inspect it and save a full-page screenshot."""
    seen = PageCheck()
    page = browser.new_page()
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.goto(html.as_uri(), wait_until="load")
    seen.images = page.evaluate(IMAGES_JS)
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return seen


@pytest.mark.slow
def test_report_renders_in_chromium(browser, study: Path, tmp_path: Path) -> None:
    """Every figure of the report decodes and is not blank; no console or page error."""
    screenshot = tmp_path / "report_screenshot.png"  # not in the study: the fixture is shared, read-only
    seen = check_page(browser, study / "report" / "report.html", screenshot)
    print(f"report screenshot: {screenshot}")
    assert len(seen.images) == 2 * len(FIGURES)  # two scenarios in the tiny study
    assert seen.problems() == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 50_000


@pytest.mark.slow
def test_broken_report_is_caught(browser, study: Path, tmp_path: Path) -> None:
    """The check fails on a corrupt image, a blank image, a console error and an uncaught error."""
    html = (study / "report" / "report.html").read_text(encoding="utf-8")
    payloads = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(payloads) == 2 * len(FIGURES)
    white = base64.b64encode(WHITE_SVG).decode("ascii")
    html = html.replace(payloads[0], base64.b64encode(b"not a PNG at all " * 40).decode("ascii"))
    html = html.replace(payloads[3], white)
    html = html.replace(
        "</body>", "<script>console.error('deliberate');</script><script>undefinedFunction();</script></body>"
    )
    broken = tmp_path / "report.html"
    broken.write_text(html, encoding="utf-8")
    problems = check_page(browser, broken, tmp_path / "broken.png").problems()
    assert problems[:2] == ["console error: deliberate", "page error: undefinedFunction is not defined"]
    assert [re.sub(r" \(.*\) ", " ", p) for p in problems[2:]] == [
        "image 0 does not decode",
        "image 3 is empty",
    ]
    assert problems[2].startswith("image 0 (coin (bernoulli): Bias of p̂")


WHITE_SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="40pt" height="40pt">'
    b'<rect width="100%" height="100%" fill="#ffffff"/></svg>'
)
"""A valid, all-white SVG."""


OVERFLOW_JS = """
() => {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) out.push(`page: ${root.scrollWidth} > ${root.clientWidth}`);
  for (const el of document.querySelectorAll("body, body *")) {
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth) {
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : "");
      out.push(`${name}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return out;
}
"""
TABLES_JS = """
() => Array.from(document.querySelectorAll("table.summary")).map(t => ({
  caption: t.caption ? t.caption.innerText : "",
  headers: Array.from(t.tHead.rows[0].cells).map(c => c.innerText),
  columns: Array.from(t.tHead.rows[0].cells).map((_, j) => Array.from(t.tBodies[0].rows).map(r => r.cells[j].innerText)),
}))
"""


def _squeezed(text: str) -> str:
    """Text without whitespace, NFKC-normalised: PDF text extraction breaks lines where cells
    wrap, and gives the font's ligatures ('ﬃ' for 'ffi')."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


REPORTS = ["study", "grid_study"]
"""The two end-to-end studies whose reports are opened: a tiny one and a 2 x 3 grid."""


@pytest.mark.slow
@pytest.mark.parametrize("which", REPORTS)
@pytest.mark.parametrize("width", [1280, 390])
def test_nothing_overflows_horizontally(browser, request, which: str, width: int, tmp_path: Path) -> None:
    """At 1,280 px (a laptop) and 390 px (a phone) every element fits its box: no horizontal scrolling."""
    html = request.getfixturevalue(which) / "report" / "report.html"
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(html.as_uri(), wait_until="load")
    overflow = page.evaluate(OVERFLOW_JS)
    screenshot = tmp_path / f"{which}_{width}.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    page.close()
    assert overflow == []


@pytest.mark.slow
@pytest.mark.parametrize("which", REPORTS)
def test_print_to_a4_keeps_every_table_column(browser, request, which: str, tmp_path: Path) -> None:
    """The PDF (A4, print stylesheet) has every table's caption, every column header and every cell."""
    from pypdf import PdfReader

    html = request.getfixturevalue(which) / "report" / "report.html"
    page = browser.new_page()
    page.goto(html.as_uri(), wait_until="load")
    tables = page.evaluate(TABLES_JS)
    page.emulate_media(media="print")
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    page.close()
    reader = PdfReader(pdf)
    text = _squeezed("".join(p.extract_text() for p in reader.pages))
    assert reader.pages[0].mediabox.width == pytest.approx(595, abs=1)  # A4: 210 mm = 595 pt
    assert tables
    missing = []
    for table in tables:
        for header, cells in zip(table["headers"], table["columns"], strict=True):
            for value in [header, *cells]:
                if _squeezed(value) not in text:
                    missing.append(f"{table['caption'][:40]}... column {header!r}: {value!r}")
    assert missing == []


def test_missing_browser_skips_locally_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without chromium the browser test is skipped, unless CI is set: then it fails."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="the chromium executable not found"):
        require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_browser()
