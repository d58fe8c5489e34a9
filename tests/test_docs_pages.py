"""The built documentation as a reader sees it, in a headless browser.

Runs after ``sphinx-build`` (``.ci/run`` sets ``SPARSENUM_DOCS_HTML`` to the build folder and
installs Chromium). For every page: formulas are rendered (no raw LaTeX left), the page has
content, internal links and anchors resolve, images load, and no table is wider than the
content column in a 1280-pixel window. Locally the test skips unless ``SPARSENUM_DOCS_HTML``
points to a build and a Chromium is found.
"""

from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag

import pytest

HTML = os.environ.get("SPARSENUM_DOCS_HTML")
REQUIRED = os.environ.get("SPARSENUM_REQUIRE_BROWSER") == "1"

# pages Sphinx generates for machinery rather than readers
_SKIP = re.compile(r"^(genindex|search|py-modindex)\.html$|^_(modules|sources|static|images)/")


def _skip_or_fail(reason: str):
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


def _pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html")
                  if not _SKIP.search(p.relative_to(root).as_posix()))


class _Anchors(HTMLParser):
    """Ids and names a page defines, and the links it holds."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


@pytest.fixture(scope="module")
def site() -> Path:
    if not HTML:
        _skip_or_fail("set SPARSENUM_DOCS_HTML to the sphinx-build HTML folder to check the pages")
    root = Path(HTML).resolve()
    if not (root / "index.html").exists():
        _skip_or_fail(f"no built documentation in {root}")
    return root


def test_internal_links_and_anchors_resolve(site):
    parsed = {page: _parse(page) for page in _pages(site)}
    broken = []
    for page, anchors in parsed.items():
        for href in anchors.links:
            if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("//"):
                continue  # external (http:, mailto:, ...)
            target, fragment = urldefrag(unquote(href))
            path = (page.parent / target).resolve() if target else page
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(site)}: {href} (no such file)")
                continue
            if fragment and path.suffix == ".html":
                ids = parsed[path].ids if path in parsed else _parse(path).ids
                if fragment not in ids:
                    broken.append(f"{page.relative_to(site)}: {href} (no anchor)")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:40])


_PAGE_CHECK = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => img.complete ? null :
      new Promise(r => { img.onload = img.onerror = r; })));
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const main = document.querySelector('article[role=main]') || document.querySelector('main')
      || document.body;
  const mathNodes = Array.from(document.querySelectorAll('.math'));
  const unrendered = mathNodes.filter(n => !n.querySelector('mjx-container'))
      .map(n => n.textContent.trim().slice(0, 60));
  const column = main.getBoundingClientRect().width;
  const wide = Array.from(main.querySelectorAll('table'))
      .map(t => ({width: t.getBoundingClientRect().width, scroll: t.scrollWidth,
                  head: (t.innerText || '').trim().slice(0, 50)}))
      .filter(t => Math.max(t.width, t.scroll) > column + 1);
  return {
    text: (main.innerText || '').trim().length,
    unrendered: unrendered,
    rawLatex: /\\\\[\\[\\(]|\\\\begin\\{/.test(main.innerText || ''),
    brokenImages: imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    wideTables: wide,
    column: column,
  };
}
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser_problems(site: Path, pages: list[Path]) -> list[str]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright is not installed (pip install playwright)")
    executable = _chromium()
    if executable is None:
        _skip_or_fail("no Chromium found (Debian: apt-get install chromium)")
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # a reader without internet: any request leaving the machine fails
        page.route(re.compile(r"^https?://"), lambda route: route.abort())
        for path in pages:
            name = path.relative_to(site).as_posix()
            page.goto(path.as_uri(), wait_until="load")
            found = page.evaluate(_PAGE_CHECK)
            if found["text"] < 40:
                problems.append(f"{name}: no content ({found['text']} characters)")
            if found["unrendered"] or found["rawLatex"]:
                problems.append(f"{name}: math left unrendered: {found['unrendered'][:3]}")
            if found["brokenImages"]:
                problems.append(f"{name}: images that do not load: {found['brokenImages'][:3]}")
            for table in found["wideTables"]:
                problems.append(f"{name}: table {table['head']!r} is "
                                f"{max(table['width'], table['scroll']):.0f} px wide, the "
                                f"column {found['column']:.0f} px")
        browser.close()
    return problems


def test_pages_render_in_a_browser(site):
    pages = _pages(site)
    problems = _browser_problems(site, pages)
    assert not problems, (f"{len(problems)} problems on {len(pages)} pages:\n"
                          + "\n".join(problems[:60]))


def test_the_browser_check_catches_what_it_should(tmp_path):
    """A page with raw LaTeX, a missing image, a table wider than the column and an empty page:
    the check must report each (so a green run means something)."""
    if not HTML and not REQUIRED and _chromium() is None:
        pytest.skip("no Chromium found (Debian: apt-get install chromium)")
    cells = "".join(f"<td>{'wide-cell-' * 12}{i}</td>" for i in range(12))
    (tmp_path / "bad.html").write_text(
        "<html><body><article role='main' style='width:600px'>"
        "<p>Some text long enough to count as content on a page.</p>"
        "<span class='math'>\\(x^2\\)</span>"
        "<img src='missing.png'>"
        f"<table style='white-space:nowrap'><tr>{cells}</tr></table>"
        "</article></body></html>")
    (tmp_path / "empty.html").write_text(
        "<html><body><article role='main'></article></body></html>")
    problems = _browser_problems(tmp_path, [tmp_path / "bad.html", tmp_path / "empty.html"])
    text = "\n".join(problems)
    assert "bad.html: math left unrendered" in text
    assert "bad.html: images that do not load" in text
    assert "bad.html: table" in text
    assert "empty.html: no content" in text
