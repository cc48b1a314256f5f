"""The handbook in a real browser: headless Chromium, driven over the DevTools protocol.

It opens the rendered HTML from file:// and checks what a reader gets: no console errors, no
network request, the search box finds a rule by a Chinese word, Chinese headings are drawn with a
real CJK font, today's date is drawn on the timeline, the XSS probe stays inert, and the data
dictionary's links all land on an element and its page fits a phone. Screenshots
are saved next to the rendered fixture (and into POLICYDSL_SCREENSHOTS when that is set).

Chromium is a test dependency: `make test` installs it (Debian's `chromium` and `fonts-noto-cjk`).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import websocket
from click.testing import CliRunner

from policydsl.cli import main

from test_docs_support import write_fixture

CHROMIUM = Path("/usr/bin/chromium")
HANDBOOK = Path(__file__).resolve().parent.parent / "generated_docs"  # the committed handbook of the real book
PHONE = 390  # CSS pixels: the narrowest phone the handbook is laid out for
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1280,1600", "about:blank"]
CJK_FONTS = ("Noto Sans CJK", "Noto Serif CJK", "WenQuanYi", "Source Han")
TIMEOUT = 20.0


class Browser:
    """One headless Chromium and one page, spoken to over the DevTools protocol (flattened sessions)."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen([str(CHROMIUM), f"--user-data-dir={profile}", *FLAGS],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=TIMEOUT,
                                              suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network", "DOM", "CSS"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method: str, session: bool = False, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)
        raise AssertionError(f"{method}: no reply within {TIMEOUT}s")

    def _event(self, event: dict) -> None:
        if "method" not in event:
            return
        self.events.append(event)
        if event["method"] == "Page.javascriptDialogOpening":  # never leave a page blocked on a dialog
            message = {"id": 10**6 + len(self.events), "method": "Page.handleJavaScriptDialog",
                       "params": {"accept": False}, "sessionId": self.session}
            self.ws.send(json.dumps(message))

    def wait_for(self, method: str, since: int) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(e["method"] == method for e in self.events[since:]):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} within {TIMEOUT}s")
            self._event(json.loads(self.ws.recv()))

    def open(self, url: str) -> None:
        mark = len(self.events)
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired", mark)

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        if os.environ.get("POLICYDSL_SCREENSHOTS"):
            folder = Path(os.environ["POLICYDSL_SCREENSHOTS"])
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / path.name)

    def fonts_of(self, selector: str) -> list[dict]:
        root = self.call("DOM.getDocument", session=True)["root"]["nodeId"]
        node = self.call("DOM.querySelector", session=True, nodeId=root, selector=selector)["nodeId"]
        assert node, f"no element matches {selector}"
        return self.call("CSS.getPlatformFontsForNode", session=True, nodeId=node)["fonts"]

    def problems(self) -> list[str]:
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append("exception: " + p["exceptionDetails"].get("text", ""))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append("log: " + p["entry"]["text"])
        return out

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def dialogs(self) -> list[str]:
        return [e["params"]["message"] for e in self.events if e["method"] == "Page.javascriptDialogOpening"]

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not CHROMIUM.exists():  # `make test` installs it and requires it; elsewhere a skip says why
        why = (f"{CHROMIUM} not found: the browser tests need Debian's chromium and fonts-noto-cjk; "
               f"run `make test`, which installs them")
        if os.environ.get("POLICYDSL_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    root = write_fixture(tmp_path_factory.mktemp("browser"))
    result = CliRunner().invoke(main, ["docs", "--policies", str(root / "policies"), "--features",
                                       str(root / "features"), "--out", str(root / "out")])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def browser(site: Path):
    profile = site / "profile"
    profile.mkdir()
    chromium = Browser(profile)
    yield chromium
    chromium.close()


def test_policy_page_renders_without_errors_or_network(site: Path, browser: Browser) -> None:
    start = len(browser.events)
    browser.open((site / "out" / "zh" / "html" / "policies" / "fixture.deposit.html").as_uri())
    browser.screenshot(site / "zh-fixture.deposit.png")
    new = browser.events[start:]
    assert browser.problems() == []
    assert all(e["method"] != "Page.javascriptDialogOpening" for e in new)
    urls = browser.requests()
    assert urls and all(u.startswith("file://") for u in urls), urls
    assert browser.js("document.querySelector('h1').textContent") == "测试保证金 fixture.deposit"
    # Today is drawn by the page's script on every timeline, after the axis it was rendered with.
    today = browser.js("document.querySelector('svg.timeline-svg g.today text').textContent")
    assert today.startswith("今天 20")
    assert browser.js("document.querySelectorAll('svg.timeline-svg g.today line').length") == 1


def test_chinese_headings_use_a_real_cjk_font(site: Path, browser: Browser) -> None:
    browser.open((site / "out" / "zh" / "html" / "policies" / "fixture.deposit.html").as_uri())
    fonts = browser.fonts_of("h1")
    main_font = max(fonts, key=lambda f: f["glyphCount"])
    assert main_font["familyName"].startswith(CJK_FONTS), fonts
    assert sum(f["glyphCount"] for f in fonts if f["familyName"].startswith(CJK_FONTS)) >= 5  # 测试保证金


def test_search_finds_a_rule_by_a_chinese_word(site: Path, browser: Browser) -> None:
    browser.open((site / "out" / "zh" / "html" / "index.html").as_uri())
    browser.js("document.getElementById('search-box').focus()")
    browser.call("Input.insertText", session=True, text="开店满")
    hits = browser.js("Array.from(document.querySelectorAll('#search-results a')).map(a => "
                      "[a.querySelector('.hit-title').textContent, a.getAttribute('href')])")
    assert ["个人店铺需开店满 30 天 — 测试保证金", "policies/fixture.deposit.html#rule-age_2023"] in hits
    assert ["个人店铺需开店满 60 天 — 测试保证金", "policies/fixture.deposit.html#rule-age_2023h2"] in hits
    assert browser.js("document.getElementById('search-panel').hidden") is False
    assert browser.js("document.getElementById('search-status').textContent") == f"找到 {len(hits)} 条结果"
    browser.screenshot(site / "zh-search.png")
    # Following the first hit lands on the rule.
    mark = len(browser.events)
    browser.js("document.querySelector('#search-results a').click()")
    browser.wait_for("Page.loadEventFired", mark)
    assert browser.js("location.hash") == "#rule-age_2023"
    assert browser.problems() == []


def test_the_xss_probe_stays_inert(site: Path, browser: Browser) -> None:
    for lang in ("zh", "en"):
        browser.open((site / "out" / lang / "html" / "policies" / "xss.probe.html").as_uri())
        assert browser.js("document.querySelector('h1').textContent") == "<script>alert(1)</script> xss.probe"
        browser.call("Input.insertText", session=True, text="")  # let any handler that might fire run
        browser.js("document.getElementById('search-box').value = 'alert'; "
                   "document.getElementById('search-box').dispatchEvent(new Event('input'))")
        assert browser.js("document.querySelectorAll('#search-results a').length") > 0
    browser.screenshot(site / "en-xss.png")
    assert browser.dialogs() == []
    assert browser.problems() == []


def test_english_pages_and_the_whole_book_pages(site: Path, browser: Browser) -> None:
    for page in ("index", "inventory", "glossary", "dictionary", "changes", "steps", "policies/fixture.deposit"):
        browser.open((site / "out" / "en" / "html" / f"{page}.html").as_uri())
    browser.screenshot(site / "en-fixture.deposit.png")
    assert browser.js("document.documentElement.lang") == "en"
    assert browser.problems() == []
    assert all(u.startswith("file://") for u in browser.requests())


def _internal_links(browser: Browser) -> list[str]:
    """Every link of the open page, resolved by the browser (a.href is absolute)."""
    return browser.js("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")


def _check_links_resolve(browser: Browser, page_url: str) -> int:
    """Open `page_url`, then every page it links to: each link must be a file that loads and, with a
    #fragment, holds an element of that id. Returns how many links were checked."""
    browser.open(page_url)
    links = _internal_links(browser)
    assert links and all(u.startswith("file://") for u in links), [u for u in links if not u.startswith("file://")]
    targets: dict[str, set[str]] = {}
    for url in links:
        document, _, fragment = url.partition("#")
        targets.setdefault(document, set())
        if fragment:
            targets[document].add(fragment)
    for document in sorted(targets):
        browser.open(document)
        assert browser.js("location.href").split("#")[0] == document
        assert browser.js("document.querySelector('main') !== null"), document  # a real page, not an error page
        ids = json.dumps(sorted(targets[document]))
        missing = browser.js(f"{ids}.filter(f => !document.getElementById(decodeURIComponent(f)))")
        assert missing == [], f"{document}: no element for #{missing}"
    return len(links)


def _fits_a_phone(browser: Browser, page_url: str) -> None:
    """At 390 px the page itself never scrolls sideways: wide tables scroll inside their .scroll box."""
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=PHONE, height=844, deviceScaleFactor=2,
                 mobile=True)
    try:
        browser.open(page_url)
        assert browser.js("document.documentElement.clientWidth") == PHONE
        assert browser.js("document.documentElement.scrollWidth") <= PHONE, page_url
        assert browser.js("Array.from(document.querySelectorAll('table.dictionary'))"
                          ".every(t => t.parentElement.classList.contains('scroll'))")
        assert browser.js(f"Array.from(document.querySelectorAll('.scroll, h1, h2, p, nav'))"
                          f".every(e => e.getBoundingClientRect().right <= {PHONE} + 0.5)")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", session=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_data_dictionary_loads_its_links_resolve_and_it_fits_a_phone(site: Path, browser: Browser,
                                                                         lang: str) -> None:
    page = site / "out" / lang / "html" / "dictionary.html"
    browser.open(page.as_uri())
    assert browser.js("document.documentElement.lang") == {"zh": "zh-CN", "en": "en"}[lang]
    assert browser.js("document.querySelector('h1').textContent") == {"zh": "数据字典", "en": "Data dictionary"}[lang]
    assert browser.js("document.querySelectorAll('tr[id^=\\'fact-\\']').length") == 11
    browser.screenshot(site / f"{lang}-dictionary.png")
    assert _check_links_resolve(browser, page.as_uri()) > 40
    _fits_a_phone(browser, page.as_uri())
    browser.screenshot(site / f"{lang}-dictionary-phone.png")
    assert browser.problems() == []
    assert all(u.startswith("file://") for u in browser.requests())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_real_books_data_dictionary_in_the_browser(browser: Browser, lang: str) -> None:
    """The same for the committed handbook of the real rule book (124 facts, 19 policies)."""
    page = HANDBOOK / lang / "html" / "dictionary.html"
    assert _check_links_resolve(browser, page.as_uri()) > 400
    _fits_a_phone(browser, page.as_uri())
    assert browser.problems() == []


# ------------------------------------------------------------------ every page of the real handbook on a phone
REAL_PAGES = sorted(p.relative_to(HANDBOOK).as_posix() for p in HANDBOOK.glob("*/html/**/*.html"))
SMALLEST_LABEL = 9  # CSS pixels: the smallest text an SVG chart may draw at phone width


def _phone_problems(browser: Browser) -> dict:
    """What does not fit a 390 px phone on the open page: the page's own sideways scroll, elements past the
    right edge (outside a .scroll box, which scrolls on its own and shows a cue), SVG text drawn too small."""
    return browser.js(rf"""(() => {{
      const W = {PHONE};
      const scrolls = e => e !== document.body && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
      const inScroll = e => {{ for (let a = e.parentElement; a; a = a.parentElement) if (scrolls(a)) return true;
                               return false; }};
      const past = Array.from(document.querySelectorAll('body *'))
        .filter(e => !inScroll(e) && e.getClientRects().length && e.getBoundingClientRect().right > W + 0.5)
        .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.getAttribute('class'));
      const tiny = Array.from(document.querySelectorAll('svg text'))
        .filter(t => t.getClientRects().length && t.getBoundingClientRect().height < {SMALLEST_LABEL})
        .map(t => t.textContent).slice(0, 5);
      const unmarked = Array.from(document.querySelectorAll('body *'))
        .filter(s => scrolls(s) && s.getClientRects().length && s.scrollWidth > s.clientWidth + 1
                     && !s.classList.contains('overflows'))
        .map(s => s.tagName + '.' + s.getAttribute('class'));
      const split = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {{
        const node = walker.currentNode, re = /\d{{4}}-\d{{2}}-\d{{2}}/g;
        for (let m; (m = re.exec(node.data)); ) {{
          const range = document.createRange();
          range.setStart(node, m.index); range.setEnd(node, m.index + 10);
          const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width).map(r => Math.round(r.top)));
          if (tops.size > 1) split.push(m[0]);
        }}
      }}
      return {{width: document.documentElement.scrollWidth, past: past.slice(0, 5), tiny, unmarked,
               split: split.slice(0, 5)}};
    }})()""")


def test_every_page_of_the_real_handbook_fits_a_phone(browser: Browser) -> None:
    """At 390×844 no page scrolls sideways, nothing but a scroll box (marked as one) passes the right
    edge, chart labels stay legible, no date breaks across lines, and the first screen shows the page's title."""
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=PHONE, height=844, deviceScaleFactor=2,
                 mobile=True)
    try:
        failures = {}
        for page in REAL_PAGES:
            browser.open((HANDBOOK / page).as_uri())
            found = _phone_problems(browser)
            h1 = browser.js("document.querySelector('h1').getBoundingClientRect().top")
            if (found["width"] > PHONE or found["past"] or found["tiny"] or found["unmarked"] or found["split"]
                    or h1 > 844 * 0.6):
                failures[page] = {**found, "h1_top": h1}
        assert failures == {}
        assert browser.problems() == []
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", session=True)


def _search(browser: Browser, page: Path, query: str) -> list[list[str]]:
    browser.open(page.as_uri())
    browser.js("document.getElementById('search-box').focus()")
    browser.call("Input.insertText", session=True, text=query)
    return browser.js("Array.from(document.querySelectorAll('#search-results a')).map(a => "
                      "[a.querySelector('.hit-title').textContent, a.getAttribute('href')])")


@pytest.mark.parametrize("lang, query, first", [
    ("zh", "保证金", {"policies/deposit.stage.html", "policies/shop.deposit.html", "policies/deposit.refund.html"}),
    ("en", "deposit", {"policies/deposit.stage.html", "policies/shop.deposit.html", "policies/deposit.refund.html"}),
])
def test_search_ranks_the_policies_named_by_the_query_first(browser: Browser, lang: str, query: str,
                                                             first: set[str]) -> None:
    """保证金 found 429 entries in index order and showed the first 40: 抖音小店保证金 was the 353rd. Names
    before text, policy pages before their parts, exact before partial."""
    hits = _search(browser, HANDBOOK / lang / "html" / "index.html", query)
    assert {href for _, href in hits[:3]} == first
    assert len(hits) == 40  # the first 40 of many, now the best 40
    names = [title.split(" — ")[0].lower() for title, _ in hits]
    in_name = [query.lower() in name for name in names]
    assert in_name == sorted(in_name, reverse=True)  # every match in a name before any match in text only
    assert browser.problems() == []


def test_on_a_phone_the_search_panel_stays_on_screen_and_the_contents_fold(browser: Browser) -> None:
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=PHONE, height=844, deviceScaleFactor=2,
                 mobile=True)
    try:
        page = HANDBOOK / "zh" / "html" / "policies" / "shop.deposit.html"
        assert _search(browser, page, "保证金")
        box = browser.js("(() => { const r = document.getElementById('search-panel').getBoundingClientRect();"
                         " return [r.left, r.right, r.top, r.bottom]; })()")
        assert 0 <= box[0] and box[1] <= PHONE and 0 <= box[2] < box[3] <= 844, box
        assert browser.js("document.querySelector('nav.toc').classList.contains('collapsed')") is True
        assert browser.js("getComputedStyle(document.querySelector('nav.toc ol')).display") == "none"
        browser.js("document.querySelector('nav.toc h2').click()")
        assert browser.js("getComputedStyle(document.querySelector('nav.toc ol')).display") != "none"
        assert browser.js("document.querySelector('nav.toc h2').getAttribute('aria-expanded')") == "true"
        hint = browser.js("getComputedStyle(document.querySelector('.scroll.overflows'), '::before').content")
        assert hint == '"← 左右滑动查看全部 →"'
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", session=True)
    browser.open((HANDBOOK / "zh" / "html" / "policies" / "shop.deposit.html").as_uri())
    assert browser.js("document.querySelector('nav.toc').classList.contains('collapsed')") is False


def test_headings_have_permalinks(browser: Browser) -> None:
    browser.open((HANDBOOK / "en" / "html" / "policies" / "shop.deposit.html").as_uri())
    links = browser.js("Array.from(document.querySelectorAll('main .headerlink')).map(a => a.getAttribute('href'))")
    assert {"#overview", "#timeline", "#tables", "#examples"} <= set(links)
    assert any(href.startswith("#table-") for href in links)  # a table's own heading, anchored by its card
    assert all(browser.js(f"document.getElementById({json.dumps(href[1:])}) !== null") for href in links)
    assert browser.js("document.querySelector('main .headerlink').getAttribute('aria-label')") == "Link to this section"
