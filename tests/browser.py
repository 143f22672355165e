"""A headless Chromium driven over the DevTools protocol on a pipe: no driver, no extra package.

``Browser.visit(url)`` loads a page and reports what a reader would notice: requests that failed,
images that did not render, internal links that lead nowhere, script errors, and the visible text.
The pages are served from a folder by a local HTTP server (:func:`serve`); nothing leaves the machine.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe")
TIMEOUT = 30.0

# Evaluated in the page once it has loaded: images, links (fetched, same origin only) and the text.
INSPECT = """(async () => {
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
})()"""


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

    @property
    def problems(self) -> List[str]:
        """Broken images, dead or empty links, failed requests and script errors."""
        found = [f"image {i['src']!r} did not render" for i in self.images if not i["ok"]]
        found += [f"link {link['text']!r} has an empty href" for link in self.links if not (link["href"] or "").strip()]
        found += [f"link {link['href']!r} answers {link['status']}" for link in self.links
                  if link["status"] is not None and not 200 <= link["status"] < 400]
        return found + self.failed_requests + self.errors


class Browser:
    """One headless Chromium process; pages are opened in fresh tabs."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire() -> None:  # the protocol pipe is fd 3 (commands) and fd 4 (replies) in the browser
            commands, replies = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_read, from_browser_write))
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            preexec_fn=wire, pass_fds=(3, 4),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self._events: List[Dict[str, Any]] = []

    def close(self) -> None:
        with suppress(OSError, RuntimeError):
            self.send("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_message(self) -> Dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: Optional[str] = None, **params: Any) -> Dict[str, Any]:
        """Send a command and wait for its reply; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: Dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, method: str, session: str) -> None:
        while True:
            while self._events:
                event = self._events.pop(0)
                self._note(event)
                if event.get("method") == method and event.get("sessionId") == session:
                    return
            self._events.append(self._read_message())

    def _note(self, event: Dict[str, Any]) -> None:
        params = event.get("params", {})
        if event.get("method") == "Network.responseReceived" and params["response"]["status"] >= 400 \
                and not params["response"]["url"].endswith("/favicon.ico"):  # the browser's own request
            self._visit.failed_requests.append(f"{params['response']['url']} answered {params['response']['status']}")
        elif event.get("method") == "Network.loadingFailed" and not params.get("canceled"):
            self._visit.failed_requests.append(f"a request failed: {params.get('errorText')}")
        elif event.get("method") == "Runtime.exceptionThrown":
            self._visit.errors.append(f"script error: {params['exceptionDetails'].get('text')}")

    def visit(self, url: str) -> Visit:
        """Load ``url`` in a new tab, wait for its load event, and inspect it."""
        self._visit = Visit(url)
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session)
        self.send("Page.navigate", session, url=url)
        self._wait_for("Page.loadEventFired", session)
        result = self.send("Runtime.evaluate", session, expression=INSPECT, awaitPromise=True, returnByValue=True)
        while self._events:
            self._note(self._events.pop(0))
        self.send("Target.closeTarget", targetId=target)
        value = result["result"]["value"]
        self._visit.title, self._visit.text, self._visit.svg = value["title"], value["text"], value["svg"]
        self._visit.images, self._visit.links = value["images"], value["links"]
        return self._visit


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
