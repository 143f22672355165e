"""Headless Chromium driven by Playwright: the system's Chromium (``executable_path``), no browser download.

``Browser.visit(url, screenshot)`` loads a page, saves a full-page screenshot (so a failure can be
looked at) and reports what a reader would notice: requests that failed, images that did not
render, internal links that lead nowhere, script errors, and the visible text. The pages are
served from a folder by a local HTTP server (:func:`serve`); nothing leaves the machine.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from playwright.sync_api import Page, Request, Response, sync_playwright

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
# No background traffic: this machine's network is closed, and a test must never reach outside it.
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 30_000

# Evaluated in the page once it has loaded: images, links (fetched, same origin only) and the text.
INSPECT = """async () => {
  const images = [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
  const links = [];
  for (const a of document.querySelectorAll('a')) {
    const href = a.getAttribute('href');
    const entry = {href: href, text: a.textContent.trim(), status: null};
    if (href && href.trim() && !href.startsWith('#') && new URL(a.href).origin === location.origin) {
      try { entry.status = (await fetch(a.href, {method: 'GET'})).status; } catch (e) { entry.status = 0; }
    }
    links.push(entry);
  }
  return {title: document.title, text: document.body ? document.body.innerText : '', images, links,
          svg: document.querySelectorAll('svg').length};
}"""


# Evaluated too: what a reader at this width would find hidden or garbled.
LAYOUT = """() => {
  const cut = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    const clips = [style.overflowX, style.overflowY].some(v => v === 'auto' || v === 'scroll' || v === 'hidden');
    if (clips && (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1)) {
      cut.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' hides part of its content');
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    cut.push(`the page is ${document.documentElement.scrollWidth}px wide, more than the window's ${window.innerWidth}px`);
  }
  const overlaps = [];
  const meet = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  for (const svg of document.querySelectorAll('svg')) {
    const frame = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect(), t.classList]);
    for (const [text, box] of texts) {
      if (box.left < frame.left - 1 || box.right > frame.right + 1 || box.top < frame.top - 1 || box.bottom > frame.bottom + 1) {
        overlaps.push(`'${text}' is clipped by the edge of its chart`);
      }
    }
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        if (meet(texts[i][1], texts[j][1])) overlaps.push(`'${texts[i][0]}' overlaps '${texts[j][0]}'`);
      }
    }
    const data = [...svg.querySelectorAll('polyline, rect.plot')].map(e => e.getBoundingClientRect());
    for (const [text, box, classes] of texts) {
      if (classes.contains('legend') && data.some(d => meet(box, d))) overlaps.push(`legend '${text}' is drawn over the data`);
    }
  }
  const hiddenHeaders = [...document.querySelectorAll('th')].filter(th => {
    const box = th.getBoundingClientRect();
    return box.width === 0 || box.left < 0 || box.right > window.innerWidth;
  }).map(th => th.textContent.trim());
  const emptyFigures = [...document.querySelectorAll('svg')].filter(svg => {
    const box = svg.getBoundingClientRect();
    return box.width === 0 || box.height === 0;
  }).map(svg => (svg.querySelector('title') || {textContent: 'svg'}).textContent);
  const wrapped = [];
  for (const el of document.querySelectorAll('time, :not(pre) > code, td.date, .nowrap')) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    if (tops.size > 1) wrapped.push(el.textContent.trim());
  }
  return {cut, overlaps, hiddenHeaders, emptyFigures, wrapped};
}"""
WIDTH, HEIGHT = 1280, 900  # the window every page is looked at in


def chromium() -> Optional[str]:
    """The Chromium executable, or None (``CHROMIUM`` overrides the search)."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


@dataclass
class Visit:
    """What loading one page showed."""

    url: str
    title: str = ""
    text: str = ""
    svg: int = 0
    images: List[Dict[str, Any]] = field(default_factory=list)
    links: List[Dict[str, Any]] = field(default_factory=list)
    failed_requests: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    cut: List[str] = field(default_factory=list)  # content hidden by a scroll box, or a page wider than the window
    overlaps: List[str] = field(default_factory=list)  # chart texts that overlap, are clipped, or cover the data
    hidden_headers: List[str] = field(default_factory=list)  # table headers outside the window, or of no width
    empty_figures: List[str] = field(default_factory=list)  # SVGs drawn with no width or height
    wrapped: List[str] = field(default_factory=list)  # dates, inline code and date cells broken over two lines

    @property
    def problems(self) -> List[str]:
        """Broken images, dead or empty links, failed requests and script errors."""
        found = [f"image {i['src']!r} did not render" for i in self.images if not i["ok"]]
        found += [f"link {link['text']!r} has an empty href" for link in self.links if not (link["href"] or "").strip()]
        found += [f"link {link['href']!r} answers {link['status']}" for link in self.links
                  if link["status"] is not None and not 200 <= link["status"] < 400]
        return found + self.failed_requests + self.errors

    def watch(self, page: Page) -> None:
        """Record the page's failed responses and requests and its script errors."""
        page.on("response", self._response)
        page.on("requestfailed", self._request_failed)
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):  # the browser's own request
            self.failed_requests.append(f"{response.url} answered {response.status}")

    def _request_failed(self, request: Request) -> None:
        self.failed_requests.append(f"a request failed: {request.url} ({request.failure})")


class Browser:
    """One headless Chromium process; each page opens in a fresh tab."""

    def __init__(self, executable: str) -> None:
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=executable, args=FLAGS, headless=True)

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()

    def visit(self, url: str, screenshot: Path) -> Visit:
        """Load ``url`` in a new tab, save a screenshot to ``screenshot``, and inspect the page."""
        visit = Visit(url)
        page = self._browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        try:
            visit.watch(page)
            page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
            value = page.evaluate(INSPECT)
            layout = page.evaluate(LAYOUT)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            page.close()
        visit.title, visit.text, visit.svg = value["title"], value["text"], value["svg"]
        visit.images, visit.links = value["images"], value["links"]
        visit.cut, visit.overlaps = layout["cut"], layout["overlaps"]
        visit.hidden_headers, visit.empty_figures = layout["hiddenHeaders"], layout["emptyFigures"]
        visit.wrapped = layout["wrapped"]
        return visit


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free localhost port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
