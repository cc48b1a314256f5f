"""The handbook served beside the decision service (`policydsl serve --docs DIR`) and the "try it" panel of its
policy pages, end to end: the real server on a free port of 127.0.0.1, the real handbook (a copy of the committed
generated_docs, with symlinks planted in it), headless Chromium over the DevTools protocol filling the panel's
form, and the decision it shows compared with what the real `policydsl eval --json` prints for the same facts."""
from __future__ import annotations

import http.client
import json
import shutil
import types
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from policydsl import i18n
from policydsl.docs.strings import s as docs_s
from policydsl.loader import load
from policydsl.serve.app import s as serve_s

from conftest import POLICIES
from test_cli import assert_user_error, run
from test_docs_browser import CHROMIUM, HANDBOOK, Browser
from test_serve import POOR, eval_json, start, stop

DEPOSIT = {"deposit": {"base": "10000", "request": "refund_deposit", "late_fine_per_order": "20"},
           "shop": {"age_days": 30}, "violation": {"false_advertising": True, "counterfeit": False, "late_orders": 3}}
"""What test_the_panel_decides_as_eval_does fills in (the enum by its label, money as typed), as eval reads it."""
AT = "2023-12-20"
TOKEN = "tryit-s3cret"


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the committed handbook with a symlink to a file outside it and one to a folder outside it."""
    root = tmp_path_factory.mktemp("served")
    (root / "secret.txt").write_text("outside the handbook\n", encoding="utf-8")
    docs = root / "docs"
    shutil.copytree(HANDBOOK, docs)
    (docs / "zh" / "html" / "secret.txt").symlink_to(root / "secret.txt")
    (docs / "outside").symlink_to(root, target_is_directory=True)
    (docs / "zh" / "html" / "home.html").symlink_to(docs / "index.html")  # a symlink within it is served
    return docs


@pytest.fixture(scope="module")
def base(handbook: Path) -> Iterator[str]:
    proc, url = start("--no-watch", "--docs", str(handbook))
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def guarded(handbook: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same, the decide endpoints requiring a bearer token."""
    token_file = tmp_path_factory.mktemp("token") / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    proc, url = start("--no-watch", "--docs", str(handbook), "--token-file", str(token_file))
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: run `make browser`")
    chromium = Browser(tmp_path_factory.mktemp("profile"))
    yield chromium
    chromium.close()


# ------------------------------------------------------------------ driving the panel
def until(browser: Browser, condition: str) -> None:
    """Wait (in the page, without a clock of ours) until the JavaScript `condition` holds."""
    browser.js(f"new Promise(done => {{ const check = () => ({condition}) ? done(true) : setTimeout(check, 25);"
               f" check(); }})")


def open_panel(browser: Browser, url: str) -> None:
    browser.open(url)
    until(browser, "!document.getElementById('try').hidden")


def choose(browser: Browser, path: str, label: str) -> None:
    """Pick the option shown as `label` in the select of the fact `path`, as a reader does."""
    picked = browser.js(f"""(() => {{
      const select = document.querySelector('[data-path="{path}"] select');
      const option = Array.from(select.options).find(o => o.textContent === {json.dumps(label)});
      select.value = option.value; return option.value; }})()""")
    assert picked


def type_into(browser: Browser, selector: str, text: str) -> None:
    browser.js(f"document.querySelector({json.dumps(selector)}).focus()")
    browser.call("Input.insertText", session=True, text=text)


def submit(browser: Browser) -> None:
    browser.js("document.getElementById('tryit-result').textContent = ''; document.getElementById('try-submit').click()")
    until(browser, "document.querySelector('#tryit-result .outcome, #tryit-result .error')")


def shown(browser: Browser) -> dict[str, Any]:
    """The decision the panel shows, read back from the page."""
    return browser.js("""(() => {
      const r = document.getElementById('tryit-result');
      const texts = sel => Array.from(r.querySelectorAll(sel)).map(e => e.textContent);
      const badge = r.querySelector('.outcome .badge');
      return {outcome: badge && badge.textContent, reasons: texts('.reasons .message'),
              warnings: texts('.warnings .message'), consequences: texts('.consequences li'),
              values: Object.fromEntries(Array.from(r.querySelectorAll('.values li'))
                        .map(li => [li.querySelector('.name').textContent, li.querySelector('.value').textContent])),
              errors: texts('.error, .error-facts, .error-hint')}; })()""")


def problems_since(browser: Browser, mark: int) -> list[str]:
    """Browser.problems over the events from `mark` on (a failed 401/422 fetch logs one on purpose elsewhere)."""
    return Browser.problems(types.SimpleNamespace(events=browser.events[mark:]))  # type: ignore[arg-type]


def requests_since(browser: Browser, mark: int) -> list[str]:
    return Browser.requests(types.SimpleNamespace(events=browser.events[mark:]))  # type: ignore[arg-type]


def page(base: str, lang: str, policy: str) -> str:
    return f"{base}/docs/{lang}/html/policies/{policy}.html"


# ------------------------------------------------------------------ the panel decides as eval does
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_panel_decides_as_eval_does(base: str, browser: Browser, tmp_path: Path, lang: str) -> None:
    model = load(POLICIES).model
    policy = model.policies["deposit.stage"]
    refund = next(v for v in model.enums[policy.inputs["deposit.request"].type.enum or ""].values
                  if v.name.value == "refund_deposit")
    mark = len(browser.events)
    open_panel(browser, page(base, lang, "deposit.stage"))
    choose(browser, "deposit.request", refund.label.get(lang))  # 申请退还保证金 / Refund of the deposit
    type_into(browser, "#try-deposit-base", "10000")  # money: ¥ is shown beside the box, the digits are typed
    type_into(browser, "#try-deposit-late_fine_per_order", "20")
    type_into(browser, "#try-shop-age_days", "30")
    type_into(browser, "#try-violation-late_orders", "3")
    choose(browser, "violation.false_advertising", docs_s("tryit.yes", lang))
    choose(browser, "violation.counterfeit", docs_s("tryit.no", lang))
    browser.js(f"document.getElementById('try-at').value = '{AT}'")
    submit(browser)

    code, expected = eval_json(tmp_path, "deposit.stage", "--at", AT, facts=DEPOSIT)
    labels = {path: d.label.get(lang) for path, d in policy.defines.items()}
    assert (code, expected["outcome"]) == (0, "deny")
    assert shown(browser) == {
        "outcome": i18n.t("outcome.deny", lang),
        "reasons": [r["message"][lang] for r in expected["reasons"]],
        "warnings": [w["message"][lang] for w in expected["warnings"]],
        "consequences": [i18n.t("consequence.deduction", lang) + docs_s("consequence.open", lang)
                         + docs_s("tryit.amount", lang, amount=c["amount"]) + docs_s("consequence.close", lang)
                         + " " + c["message"][lang] for c in expected["consequences"]],
        "values": {f"{labels[path]} ({path})": value if isinstance(value, str) else json.dumps(value)
                   for path, value in expected["values"].items()},
        "errors": []}
    assert len(expected["reasons"]) == 1 and len(expected["consequences"]) == 2
    assert problems_since(browser, mark) == []
    # nothing leaves the origin (data: is the date box's own calendar icon)
    assert [u for u in requests_since(browser, mark) if not u.startswith((base + "/", "data:"))] == []


def test_a_facts_error_is_shown_in_the_pages_language(base: str, browser: Browser, tmp_path: Path) -> None:
    _, expected = eval_json(tmp_path, "cart.opening", "--at", AT, facts={"account": {"fans": "many"}})
    for lang in ("zh", "en"):
        open_panel(browser, page(base, lang, "cart.opening"))
        type_into(browser, "#try-account-fans", "many")
        submit(browser)
        label = load(POLICIES).model.policies["cart.opening"].inputs["account.fans"].label.get(lang)
        assert shown(browser)["errors"] == [docs_s("tryit.error", lang, status=422) + expected["error"]["message"][lang],
                                            docs_s("tryit.facts", lang) + f"{label} (account.fans)"]


def test_with_a_token_the_panel_asks_for_it_then_decides(guarded: str, browser: Browser, tmp_path: Path) -> None:
    _, expected = eval_json(tmp_path, "cart.opening", "--at", AT, facts=POOR)
    open_panel(browser, page(guarded, "en", "cart.opening"))
    assert browser.js("getComputedStyle(document.getElementById('try-token-field')).display") == "none"
    choose(browser, "account.kind", "Personal account")
    type_into(browser, "#try-account-fans", "999")
    choose(browser, "account.real_name", "yes")
    choose(browser, "product.special_category", "no")
    browser.js(f"document.getElementById('try-at').value = '{AT}'")
    submit(browser)
    unauthorized = serve_s("E.unauthorized", "en")
    assert shown(browser)["errors"] == [docs_s("tryit.error", "en", status=401) + unauthorized,
                                        docs_s("tryit.token_needed", "en")]
    assert browser.js("getComputedStyle(document.getElementById('try-token-field')).display") == "grid"
    assert browser.js("document.activeElement.id") == "try-token"
    browser.call("Input.insertText", session=True, text=TOKEN)
    submit(browser)
    assert shown(browser)["errors"] == []
    assert shown(browser)["outcome"] == "deny"
    assert shown(browser)["reasons"] == [r["message"]["en"] for r in expected["reasons"]]
    assert expected["reasons"][0]["message"]["en"] == "999 followers, below the threshold of 1,000 followers"


@pytest.mark.parametrize("width", [1280, 375])
def test_the_panel_is_usable_at_desktop_and_phone_width(base: str, browser: Browser, tmp_path: Path,
                                                        width: int) -> None:
    browser.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=800, deviceScaleFactor=1,
                 mobile=width < 500)
    try:
        open_panel(browser, page(base, "zh", "listing.approval"))  # 14 inputs: enums, sets, money, dates
        assert browser.js("document.documentElement.scrollWidth") <= width
        assert browser.js(f"Array.from(document.querySelectorAll('#try input, #try select, #try label, #try button'))"
                          f".every(e => e.getBoundingClientRect().right <= {width} + 0.5)")
        browser.js("document.getElementById('try-submit').scrollIntoView({block: 'center'})")
        box = browser.js("(() => { const r = document.getElementById('try-submit').getBoundingClientRect();"
                         " return [r.left, r.top, r.right, r.bottom, r.width, r.height]; })()")
        assert 0 <= box[0] and box[2] <= width and 0 <= box[1] and box[3] <= 800 and box[4] > 0 and box[5] > 0
        assert browser.js("document.elementFromPoint(" + f"{(box[0] + box[2]) / 2}, {(box[1] + box[3]) / 2}).id") \
            == "try-submit"  # nothing covers it
        submit(browser)  # nothing filled in: the missing facts, a long error, still within the width
        assert len(shown(browser)["errors"]) == 2
        assert browser.js("document.documentElement.scrollWidth") <= width
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride", session=True)


def test_from_disk_the_panel_stays_hidden_and_fetches_nothing(browser: Browser) -> None:
    mark = len(browser.events)
    for lang in ("zh", "en"):
        browser.open((HANDBOOK / lang / "html" / "policies" / "cart.opening.html").as_uri())
        assert browser.js("document.getElementById('try').hidden") is True
        assert browser.js("getComputedStyle(document.getElementById('try')).display") == "none"
        assert browser.js("document.querySelectorAll('#try select').length") > 0  # rendered, only hidden
    urls = requests_since(browser, mark)
    assert urls and all(u.startswith("file://") for u in urls), urls
    assert problems_since(browser, mark) == []


def test_the_form_is_built_from_the_policys_inputs_in_the_pages_language(browser: Browser) -> None:
    """Every input of listing.approval is a field of its kind: enum values and set members by their labels, a
    money field with ¥ beside it, a date box; nested by the dotted path the facts JSON uses."""
    model = load(POLICIES).model
    policy = model.policies["listing.approval"]
    for lang in ("zh", "en"):
        browser.open((HANDBOOK / lang / "html" / "policies" / "listing.approval.html").as_uri())
        fields = browser.js("""Array.from(document.querySelectorAll('#tryit-form [data-path]')).map(f => [
          f.getAttribute('data-path'), f.getAttribute('data-kind'),
          Array.from(f.querySelectorAll('option, label.check')).map(o => o.textContent.trim()),
          Array.from(f.querySelectorAll('input')).map(i => i.type).join(' '),
          Array.from(f.querySelectorAll('.affix')).map(a => a.textContent).join(' ')])""")
        expected = []
        for path, item in policy.inputs.items():
            kind = item.type.kind
            labels = [v.label.get(lang) for v in model.enums[item.type.enum].values] if item.type.enum else []
            options = {"enum": [docs_s("tryit.not_stated", lang), *labels], "set": labels,
                       "bool": [docs_s(k, lang) for k in ("tryit.not_stated", "tryit.yes", "tryit.no")]}
            inputs = {"enum": "", "bool": "", "set": " ".join(["checkbox"] * len(labels)), "date": "date"}
            expected.append([path, kind, options.get(kind, []), inputs.get(kind, "text"),
                             {"money": "¥", "percent": "%"}.get(kind, item.unit.label.get(lang) if item.unit else "")])
        assert fields == expected
        assert {kind for _, kind, *_ in fields} == {"date", "money", "bool", "set", "enum"}


# ------------------------------------------------------------------ the static mount
def test_the_handbook_is_served_under_docs_and_the_root_sends_there(base: str, handbook: Path) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        root = client.get("/")
        assert (root.status_code, root.headers["location"]) == (307, "/docs/")
        index = client.get("/docs/")
        assert (index.status_code, index.text) == (200, (handbook / "index.html").read_text(encoding="utf-8"))
        policy = client.get("/docs/en/html/policies/cart.opening.html")
        assert policy.status_code == 200 and 'id="try"' in policy.text
        assert client.get("/docs/zh/html/home.html").text == index.text  # a symlink within the handbook
        assert client.post("/docs/index.html").status_code == 405
        assert client.get("/favicon.ico").status_code == 204  # the browser asks for one: no 404 in its console
        assert client.get("/v1/status").json()["policies"] == 18  # the service is unchanged beside it
        counted = client.get("/metrics").text  # the handbook's requests under their route template, not as `/`
        assert 'policydsl_http_requests_total{endpoint="/docs/{path:path}",status="200"}' in counted
        assert 'policydsl_http_requests_total{endpoint="/",status="307"}' in counted
        assert 'endpoint="/",status="200"' not in counted


@pytest.mark.parametrize("path", [
    "/docs/../pyproject.toml", "/docs/../../../etc/passwd", "/docs/..%2f..%2fpyproject.toml",
    "/docs/%2e%2e/%2e%2e/etc/passwd", "/docs/zh/html/secret.txt", "/docs/outside/secret.txt",
    "/docs//etc/passwd", "/docs/zh/html/%00.html",
])
def test_nothing_outside_the_handbook_is_served(base: str, path: str) -> None:
    """Traversals (raw, not normalised by the client) and symlinks pointing outside are the service's 404."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert (response.status, body["error"]["code"]) == (404, "serve.not_found")


def test_a_folder_without_a_handbook_is_refused_before_listening(tmp_path: Path) -> None:
    result = run("serve", "--port", "0", "--docs", str(tmp_path))
    assert_user_error(result)
    assert result.stderr == (f"error: {tmp_path} holds no rendered handbook (no index.html and <lang>/html/index.html);"
                             f" run `policydsl docs --out {tmp_path}` first\n")
