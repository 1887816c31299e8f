"""Print HTML pages to PDF with one headless Chromium for the whole batch.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``:
the browser reads commands on its fd 3 and writes answers on fd 4, each a JSON message
ended by a NUL byte), so no port is opened and nothing beyond the standard library is
needed. One browser prints every letter: starting Chromium costs about a second, loading
and printing a letter about a tenth of one, so launching a browser per letter
(``--print-to-pdf``) would spend most of its time starting up.

The page is the same file the HTML letter is: a tab navigates to it, waits for its load
and prints it with the page's own CSS page size (A4) and margins. Two tabs work at once:
while one prints, the other loads the next letter (docs/statement.md has the timings).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import html as htmllib
import io
import itertools
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from scs_cli.core.errors import ScsError

# The flags the project runs Chromium with everywhere: no GPU, no sandbox (containers run
# as root), nothing fetched in the background, a fresh profile given by the caller.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--remote-debugging-pipe")
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
ENV = "SCS_CHROMIUM"  # a browser to use instead of the first of NAMES on PATH
TIMEOUT = 60.0  # seconds the browser may take to answer one command
TABS = 2  # pages in flight at once (docs/statement.md: measured on 2 cores)
PRINT = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False,
         "generateTaggedPDF": True}  # tagged: headings and tables for screen readers


class BrowserError(ScsError):
    """Chromium could not be started or did not do what it was asked."""

    def __init__(self, what: str, fix: str = ""):
        self.what, self.fix = what, fix
        super().__init__(f"chromium: {what}" + (f" ({fix})" if fix else ""))


def find_browser() -> tuple[str | None, str]:
    """The Chromium executable to use, or None and why there is none."""
    given = os.environ.get(ENV)
    if given:
        found = shutil.which(given)
        return (found, "") if found else (None, f"{ENV}={given} is not an executable")
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found, ""
    return None, ("no chromium on PATH (Debian: apt-get install -y chromium; or set "
                  f"{ENV} to a Chromium or Chrome executable)")


class Browser:
    """One headless Chromium; `print_many` prints page files to PDF bytes, several tabs
    at a time, and `print_pdf` one page.

    Use as a context manager: the browser and its temporary profile are gone on exit.
    """

    def __init__(self, executable: str, timeout: float = TIMEOUT) -> None:
        self.executable = executable
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._profile = tempfile.mkdtemp(prefix="scs-chromium-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._tabs: list[str] = []  # DevTools session ids, one per open tab

    # --- starting and stopping ---------------------------------------------------------

    def __enter__(self) -> Browser:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # The child must find the pipe ends at exactly fds 3 and 4; copy them above 4
        # first so that the dup2s in the child cannot overwrite one another.
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 5)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 5)
        os.close(to_browser_r)
        os.close(from_browser_w)

        def plumb() -> None:  # runs in the child, between fork and exec
            os.dup2(child_in, 3, inheritable=True)
            os.dup2(child_out, 4, inheritable=True)

        try:
            self._proc = subprocess.Popen(
                [self.executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=plumb, pass_fds=(3, 4),
                close_fds=True)
        except OSError as exc:
            os.close(to_browser_w)
            os.close(from_browser_r)
            raise BrowserError(f"could not start {self.executable}: {exc.strerror}",
                               f"check the executable, or set {ENV}") from None
        finally:
            os.close(child_in)
            os.close(child_out)
        self._write_fd = to_browser_w
        self._read_fd = from_browser_r

    def _tab(self) -> str:
        """Open one more tab; return its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = str(self.call("Target.attachToTarget",
                                {"targetId": target, "flatten": True})["sessionId"])
        self.call("Page.enable", session=session)
        # lifecycle events carry the navigation's loaderId: a page's own "load" is told
        # apart from that of the blank page the tab opened with
        self.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session=session)
        self._tabs.append(session)
        return session

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(BrowserError, OSError):
                self.call("Browser.close", timeout=5.0)
            for fd in (self._write_fd, self._read_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    # --- the protocol ----------------------------------------------------------------

    def _send(self, method: str, params: dict[str, Any] | None = None,
              session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        try:
            while data:
                data = data[os.write(self._write_fd, data):]
        except OSError:
            raise self._gone(method) from None
        return self._next_id

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        sent = self._send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read(deadline, method)
            if reply.get("id") == sent:
                return _result(method, reply)
            if "method" in reply:
                self._events.append(reply)

    def _gone(self, what: str) -> BrowserError:
        """The browser stopped talking: say whether it quit, and with which status."""
        status = None
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = self._proc.wait(timeout=2)
        quit_ = f"quit with exit status {status}" if status is not None else "closed its pipe"
        return BrowserError(f"{self.executable} {quit_} before answering {what}",
                            f"run it with --headless by hand to see why, or set {ENV} to a "
                            "Chromium of version 75 or later; --no-pdf writes HTML only")

    def _read(self, deadline: float, what: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read_fd], [], [], max(left, 0))
            if not ready:
                raise BrowserError(f"no answer to {what} within {self.timeout:g} s",
                                   "is the machine overloaded?")
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise self._gone(what)
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)  # type: ignore[no-any-return]

    # --- printing --------------------------------------------------------------------

    def print_pdf(self, page: Path) -> bytes:
        """The PDF of one page file."""
        return next(self.print_many([page], tabs=1))[1]

    def print_many(self, pages: Iterable[Path], tabs: int = TABS, tagged: bool = True
                   ) -> Iterator[tuple[int, bytes]]:
        """Print page files to PDF, as their CSS asks (``@page`` size and margins), with
        up to ``tabs`` pages in flight; yield (index in ``pages``, PDF bytes) as each is
        done (not necessarily in order). ``pages`` may be a generator: each is taken
        when a tab is free.

        Each tab loads a page (navigate, then its "load" lifecycle event) and prints it;
        while one tab prints, another loads, so the browser's processes overlap.
        """
        if isinstance(pages, Sequence):
            tabs = max(1, min(tabs, len(pages)))
        while len(self._tabs) < tabs:
            self._tab()
        names: dict[int, Path] = {}
        todo = iter(enumerate(pages))
        # per tab: [page index, loaderId once navigate answered, loaderIds seen loaded]
        state: dict[str, list[Any]] = {}
        waiting: dict[int, tuple[str, str]] = {}  # command id -> (tab, "navigate"|"print")

        def start(tab: str) -> None:
            nxt = next(todo, None)
            if nxt is None:
                state.pop(tab, None)
                return
            state[tab] = [nxt[0], None, set()]
            names[nxt[0]] = nxt[1]
            url = nxt[1].resolve().as_uri()
            waiting[self._send("Page.navigate", {"url": url}, tab)] = (tab, "navigate")

        def print_if_loaded(tab: str) -> None:
            index, loader, loaded = state[tab]
            if loader is not None and loader in loaded:
                state[tab][1] = "printing"
                waiting[self._send("Page.printToPDF", {**PRINT, "generateTaggedPDF": tagged},
                                   tab)] = (tab, "print")

        for tab in self._tabs[:tabs]:
            start(tab)
        while state:
            message = self._read(time.monotonic() + self.timeout, "a page to print")
            if message.get("id") in waiting:
                tab, step = waiting.pop(message["id"])
                result = _result(f"Page.{step}", message)
                if step == "navigate":
                    if result.get("errorText"):
                        raise BrowserError(f"could not open {names[state[tab][0]]}: "
                                           f"{result['errorText']}")
                    state[tab][1] = result.get("loaderId")
                    print_if_loaded(tab)
                else:
                    yield state[tab][0], base64.b64decode(result["data"])
                    start(tab)
            elif (message.get("method") == "Page.lifecycleEvent"
                  and message.get("sessionId") in state
                  and message["params"].get("name") == "load"):
                tab = message["sessionId"]
                state[tab][2].add(message["params"].get("loaderId"))
                if state[tab][1] not in (None, "printing"):
                    print_if_loaded(tab)


def _result(method: str, reply: dict[str, Any]) -> dict[str, Any]:
    if "error" in reply:
        raise BrowserError(f"{method} failed: {reply['error'].get('message')}")
    return reply.get("result", {})  # type: ignore[no-any-return]


# --- many letters in one print ------------------------------------------------------
#
# A print has a cost of its own beside its pages: one print of 50 letters took about half
# the time of 50 prints of one (BENCHMARKS.md). So letters are printed in bundles: one
# page holds the bodies of up to PER_PRINT letters, the letters alternating between two
# named CSS pages (`page: scs-a` / `scs-b`), which forces each letter onto a fresh page
# and gives the two a width differing by a point; the bundle's PDF is then cut where
# the width changes, and every page given back its true size.
PER_PRINT = 50
BUNDLE_ENV = "SCS_PRINT_BUNDLE"  # letters to a print; 1 prints each on its own
_HEAD = re.compile(r"^(.*?</head>)", re.S | re.I)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)


def print_letters(browser: Browser, pages: Iterable[Path], count: int
                  ) -> Iterator[tuple[int, bytes]]:
    """The PDF of each of ``count`` pages, bundled (`print_bundled`) unless
    SCS_PRINT_BUNDLE says 1 or there are fewer than 3."""
    given = os.environ.get(BUNDLE_ENV, "")
    per_print = int(given) if given.isdigit() and int(given) > 0 else PER_PRINT
    if per_print == 1 or count < 3:
        return browser.print_many(pages)
    return print_bundled(browser, pages, per_print)


def print_bundled(browser: Browser, pages: Iterable[Path], per_print: int = PER_PRINT,
                  tabs: int = TABS) -> Iterator[tuple[int, bytes]]:
    """Like `Browser.print_many`, but ``per_print`` pages to a print; yield (index in
    ``pages``, that page's own PDF) in order of printing. ``pages`` may be a generator:
    a bundle is printed as soon as its pages are there.

    The first page is printed alone: its PDF gives the page size the template asks for,
    which the bundles' two named pages repeat (one a point wider)."""
    given = iter(pages)
    head = next(given, None)
    if head is None:
        return
    first = browser.print_pdf(head)
    yield 0, first
    size = _first_size(first)
    bundles: list[list[tuple[int, Path]]] = []

    def files(folder: Path) -> Iterator[Path]:
        rest = enumerate(given, start=1)
        while chunk := list(itertools.islice(rest, per_print)):
            bundles.append(chunk)
            yield _bundle(folder / f"bundle-{len(bundles)}.html", [p for _, p in chunk],
                          size)

    with tempfile.TemporaryDirectory(prefix="scs-bundle-") as folder:
        # untagged: cutting the PDF keeps the pages, not the document's structure tree
        for n, data in browser.print_many(files(Path(folder)), tabs=tabs, tagged=False):
            chunk = bundles[n]
            titles = [_title(p) for _, p in chunk]
            yield from zip((i for i, _ in chunk), _split(data, len(chunk), size, titles),
                           strict=True)


def _first_size(pdf: bytes) -> tuple[float, float]:
    from pypdf import PdfReader

    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    return float(box.width), float(box.height)


def _bundle(path: Path, pages: Sequence[Path], size: tuple[float, float]) -> Path:
    texts = [p.read_text(encoding="utf-8") for p in pages]
    head = _HEAD.match(texts[0])
    if head is None:
        raise BrowserError(f"{pages[0]} has no </head>: cannot print it with others")
    w, h = size
    named = (f"<style>@page scs-a{{size:{w:.2f}pt {h:.2f}pt}}"
             f"@page scs-b{{size:{w + 1:.2f}pt {h:.2f}pt}}</style>")
    bodies = []
    for n, (page, text) in enumerate(zip(pages, texts, strict=True)):
        body = _BODY.search(text)
        if body is None:
            raise BrowserError(f"{page} has no <body>: cannot print it with others")
        bodies.append(f'<div style="page:scs-{"ab"[n % 2]}">{body.group(1)}</div>')
    html = head.group(1).replace("</head>", named + "</head>") + "<body>" + \
        "".join(bodies) + "</body></html>"
    path.write_text(html, encoding="utf-8")
    return path


def _title(page: Path) -> str:
    with page.open(encoding="utf-8") as f:
        found = _TITLE.search(f.read(4096))
    return htmllib.unescape(found.group(1)) if found else page.stem


def _split(pdf: bytes, letters: int, size: tuple[float, float], titles: Sequence[str]
           ) -> list[bytes]:
    """Cut a bundle's PDF where the page width changes; each part at ``size``."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import RectangleObject

    reader = PdfReader(io.BytesIO(pdf))
    parts: list[list[Any]] = []
    last = None
    for page in reader.pages:
        wide = float(page.mediabox.width) > size[0] + 0.5
        if wide != last:
            parts.append([])
            last = wide
        parts[-1].append(page)
    if len(parts) != letters:
        raise BrowserError(f"a bundle of {letters} letters printed as {len(parts)}",
                           "print them one at a time: set SCS_PRINT_BUNDLE=1")
    out = []
    for part, title in zip(parts, titles, strict=True):
        writer = PdfWriter()
        for page in part:
            added = writer.add_page(page)
            added.mediabox = RectangleObject((0, 0, *size))
            added.cropbox = RectangleObject((0, 0, *size))
        writer.add_metadata({"/Title": title, "/Producer": "scs (Chromium, pypdf)"})
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out
