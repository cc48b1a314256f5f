"""The handbook served beside the decision service (`policydsl serve --docs DIR`) and the "try it" panel of its
policy pages, end to end: the real server on a free port of 127.0.0.1, the real handbook (a copy of the committed
generated_docs, with symlinks planted in it), headless Chromium over the DevTools protocol filling the panel's
form, and the decision it shows compared with what the real `policydsl eval --json` prints for the same facts, and
line for line with the words of `policydsl eval --lang zh|en`."""
from __future__ import annotations

import http.client
import http.server
import json
import re
import shutil
import string
import threading
import types
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from policydsl import i18n
from policydsl.docs import tryit
from policydsl.docs.prose import Renderer
from policydsl.docs.strings import s as docs_s
from policydsl.loader import load
from policydsl.semantics.model import Model
from policydsl.serve.app import s as serve_s

from conftest import POLICIES
from test_cli import assert_user_error, run
from test_docs_browser import CHROMIUM, HANDBOOK, Browser
from test_serve import FACTS, POOR, eval_json, start, stop

AT = "2023-12-20"
STAGE = {"shop": {"age_days": 30, "other_violation_record": False},
         "deposit": {"base": "¥10000", "request": "refund_deposit", "late_fine_per_order": "¥20"},
         "violation": {"false_advertising": True, "counterfeit": False, "late_orders": 3}}
"""deposit.stage denied with two deductions: money (¥5,000 in English), a percent, an enum, yes/no, a count."""
ASSESSED = {"creator": {"interaction_rate_30d": "4.5%", "main_category_share": "60%", "serious_violations_90d": 2}}
"""content.assessment missing all three standards: a demotion until a date, a restriction, a ban for good."""
FLOW = {**FACTS, "application": {k: v for k, v in FACTS["application"].items() if k != "date"}}
"""cart.opening_flow without the application's date: allowed, its review's due date not computed."""
TOKEN = "tryit-s3cret"
SHOWN = """
enum region "地区" / "Region"
  value north "华北" / "North"
  value south "华南" / "South"

unit follower "人" / "followers"
unit kilo "千克" / "kg"

policy t.shown
  title "取值展示" / "Values shown"

input regions: set of region "地区" / "Regions"
input fans: count "粉丝数" / "Followers" unit follower
input price: money "价格" / "Price"
input weight: number "重量" / "Weight" unit kilo

define picked: set of region "所选地区" / "Picked regions"
  = regions
  source "doc.txt" quote "原文"

define audience: count "双倍粉丝" / "Double followers" unit follower
  = fans * 2
  source "doc.txt" quote "原文"

define total: money "总价" / "Total"
  = price * fans
  source "doc.txt" quote "原文"

define loss: money "亏损" / "Loss"
  = ¥0 - price
  source "doc.txt" quote "原文"

define heavier: number "加重" / "Heavier" unit kilo
  = weight * 2
  source "doc.txt" quote "原文"

rule fined "罚款" / "Fined"
  require fans < 0 else deny fined "罚款 {total}" / "Fined {total}"
  consequence deduction amount total "按总价扣除" / "Deducted by the total"
  source "doc.txt" quote "原文"
"""
"""A book whose values are of the kinds the committed book's decisions do not show: a set, a count above a
thousand with a unit, money with cents and below zero, a number with a unit."""
SHOWN_FACTS = {"regions": ["south", "north"], "fans": 1234567, "price": "¥1.5", "weight": "2.25"}


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
def shown_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The SHOWN book, its handbook rendered by the real `policydsl docs`, both served."""
    root = tmp_path_factory.mktemp("shown")
    (root / "policies").mkdir()
    (root / "features").mkdir()
    (root / "policies" / "t.policy").write_text(SHOWN, encoding="utf-8")
    rendered = run("docs", "--policies", str(root / "policies"), "--features", str(root / "features"),
                   "--out", str(root / "docs"))
    assert rendered.returncode == 0, rendered.stderr
    proc, url = start("--no-watch", "--policies", str(root / "policies"), "--docs", str(root / "docs"))
    yield root / "policies", url
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
      const coded = sel => Array.from(r.querySelectorAll(sel + ' li'))
                             .map(li => [li.querySelector('code').textContent, li.firstChild.textContent]);
      return {outcome: badge && badge.textContent, reasons: coded('.reasons'), warnings: coded('.warnings'),
              consequences: coded('.consequences'), values: coded('.values'), unresolved: coded('.unresolved'),
              errors: texts('.error, .error-facts, .error-hint'), error_message: texts('.error .message')}; })()""")


def eval_text(tmp_path: Path, policy: str, facts: Any, lang: str, *args: str) -> dict[str, Any]:
    """What the real `policydsl eval POLICY --lang LANG` prints, its lines sorted by what they show, each
    without the two spaces it is indented by: the outcome word of `title @ date: word`, `- [code] message`
    (reasons then warnings), `后果 [code] …` / `consequence [code] …` as (code, the rest), `label = value`,
    and the unresolved lines (the rest)."""
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    result = run("eval", policy, "--facts", str(path), "--at", AT, "--lang", lang, *args)
    assert result.returncode == 0, result.stderr
    head, *lines = result.stdout.splitlines()
    shown: dict[str, Any] = {"outcome": head.rsplit(": ", 1)[1], "reasons": [], "consequences": [], "values": [],
                             "unresolved": []}
    title = i18n.t("consequence.title", lang)
    for line in lines:
        assert line.startswith("  ") and not line.startswith("   "), line
        line = line[2:]
        if match := re.fullmatch(r"- \[(\w+)\] (.*)", line):
            shown["reasons"].append(list(match.groups()))
        elif match := re.fullmatch(re.escape(title) + r" \[(\w+)\] (.*)", line):
            shown["consequences"].append(list(match.groups()))
        elif " = " in line:
            shown["values"].append(line)
        else:
            shown["unresolved"].append(line)
    return shown


def fill(browser: Browser, model: Model, policy: str, facts: dict[str, Any], lang: str) -> None:
    """Fill the panel's form with `facts` as a reader does: an enum's or a yes/no's choice by its label, a set's
    members ticked, a date picked, the digits typed (money's ¥ is printed beside the box). Facts are nested by
    entity, or flat (a book without entities)."""
    inputs = model.policies[policy].inputs
    flat = {f"{entity}.{name}": value for entity, record in facts.items() if isinstance(record, dict)
            for name, value in record.items()}
    for path, value in {**facts, **flat}.items():
        if path in inputs:
            kind, enum = inputs[path].type.kind, inputs[path].type.enum
            labels = {v.name.value: v.label.get(lang) for v in model.enums[enum].values} if enum else {}
            if kind == "enum":
                choose(browser, path, labels[value])
            elif kind == "bool":
                choose(browser, path, docs_s("tryit.yes" if value else "tryit.no", lang))
            elif kind == "set":
                for member in value:
                    browser.js(f"document.querySelector('[data-path=\"{path}\"] input[value=\"{member}\"]').click()")
            elif kind == "date":
                browser.js(f"document.getElementById('try-{path.replace('.', '-')}').value = '{value}'")
            else:
                type_into(browser, f"#try-{path.replace('.', '-')}", str(value).removeprefix("¥"))
    browser.js(f"document.getElementById('try-at').value = '{AT}'")


def problems_since(browser: Browser, mark: int) -> list[str]:
    """Browser.problems over the events from `mark` on (a failed 401/422 fetch logs one on purpose elsewhere)."""
    return Browser.problems(types.SimpleNamespace(events=browser.events[mark:]))  # type: ignore[arg-type]


def requests_since(browser: Browser, mark: int) -> list[str]:
    return Browser.requests(types.SimpleNamespace(events=browser.events[mark:]))  # type: ignore[arg-type]


def page(base: str, lang: str, policy: str) -> str:
    return f"{base}/docs/{lang}/html/policies/{policy}.html"


# ------------------------------------------------------------------ the panel decides as eval does
def assert_worded_as_eval(browser: Browser, base: str, tmp_path: Path, model: Model, policy: str, facts: Any,
                          lang: str, *args: str) -> dict[str, Any]:
    """Every line of `eval --lang` is in the panel, text for text: the outcome word; each reason and warning
    (code, message); each consequence, its code shown after the line that `后果 [code] ` / `consequence [code] `
    starts on the command line; each `label = value` (the value's path shown after it); each value not computed.
    The panel's codes and paths are the decision JSON's, in its order. Returns what the panel shows."""
    mark = len(browser.events)
    open_panel(browser, page(base, lang, policy))
    fill(browser, model, policy, facts, lang)
    submit(browser)
    panel = shown(browser)
    cli = eval_text(tmp_path, policy, facts, lang, *args)
    _, decision = eval_json(tmp_path, policy, "--at", AT, *args, facts=facts)
    assert panel["errors"] == []
    assert panel["outcome"] == cli["outcome"] == i18n.t(f"outcome.{decision['outcome']}", lang)
    assert panel["reasons"] + panel["warnings"] == cli["reasons"]
    assert panel["consequences"] == cli["consequences"]
    assert [line for _, line in panel["values"]] == cli["values"]
    assert [line for _, line in panel["unresolved"]] == cli["unresolved"]
    assert [path for path, _ in panel["values"]] == list(decision["values"])
    assert [path for path, _ in panel["unresolved"]] == list(decision.get("unresolved", {}))
    assert [code for code, _ in panel["consequences"]] == [c["code"] for c in decision.get("consequences", [])]
    assert problems_since(browser, mark) == []
    # nothing leaves the origin (data: is the date box's own calendar icon)
    assert [u for u in requests_since(browser, mark) if not u.startswith((base + "/", "data:"))] == []
    return panel


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("policy, facts", [("deposit.stage", STAGE), ("cart.opening", POOR),
                                           ("cart.opening_flow", FLOW), ("settlement", FACTS),
                                           ("content.assessment", ASSESSED)])
def test_the_panel_words_the_decision_as_eval_does(base: str, browser: Browser, tmp_path: Path, lang: str,
                                                   policy: str, facts: dict[str, Any]) -> None:
    """The committed book: money, a percent, an enum, yes/no, a count with its unit, dates, a value not computed,
    consequences with an amount, an end date, for good and with no period."""
    assert_worded_as_eval(browser, base, tmp_path, load(POLICIES).model, policy, facts, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sets_big_counts_cents_and_numbers_with_units_are_worded_as_eval_does(shown_book: tuple[Path, str],
                                                                              browser: Browser, tmp_path: Path,
                                                                              lang: str) -> None:
    """A book of its own, rendered and served: a set's members by label in the CLI's order and separator, money
    with cents and below zero, counts and money grouped by thousands in English only, a number with its unit."""
    folder, url = shown_book
    panel = assert_worded_as_eval(browser, url, tmp_path, load(folder).model, "t.shown", SHOWN_FACTS, lang,
                                  "--policies", str(folder))
    assert [line for _, line in panel["values"]] == {
        "zh": ["所选地区 = 华北、华南", "双倍粉丝 = 2469134 人", "总价 = ¥1851850.50", "亏损 = ¥-1.50", "加重 = 4.5 千克"],
        "en": ["Picked regions = North, South", "Double followers = 2,469,134 followers", "Total = ¥1,851,850.50",
               "Loss = ¥-1.50", "Heavier = 4.5 kg"]}[lang]


SHOWN_AS_EVAL = {
    ("deposit.stage", "zh"): (["扣除，金额 ¥2500：虚假宣传(扣50%)", "扣除，金额 ¥60：延迟发货(按单扣罚)"],
                              ["经营阶段 = 新手期", "保证金比例 = 50%", "应缴保证金 = ¥5000", "可申请保险替代 = 否"]),
    ("deposit.stage", "en"): (["deduction, amount ¥2,500: False advertising (50% deducted)",
                               "deduction, amount ¥60: Late shipment (deducted per order)"],
                              ["Business stage = Novice period", "Deposit ratio = 50%", "Deposit required = ¥5,000",
                               "Insurance may replace the deposit = no"]),
    ("cart.opening", "zh"): ([], ["粉丝门槛 = 1000 人"]),
    ("cart.opening", "en"): ([], ["Follower threshold = 1,000 followers"]),
}
"""What the comparison above covers, spelled out once: the words the brief's example shows."""


@pytest.mark.parametrize("policy, lang", list(SHOWN_AS_EVAL))
def test_the_panel_shows_labels_units_and_money_as_the_command_line(base: str, browser: Browser, policy: str,
                                                                    lang: str) -> None:
    open_panel(browser, page(base, lang, policy))
    fill(browser, load(POLICIES).model, policy, STAGE if policy == "deposit.stage" else POOR, lang)
    submit(browser)
    panel = shown(browser)
    consequences, values = SHOWN_AS_EVAL[policy, lang]
    assert [line for _, line in panel["consequences"]] == consequences
    assert set(values) <= {line for _, line in panel["values"]}


def test_the_script_reads_every_template_of_the_command_line_it_is_handed() -> None:
    """The panel's formatter knows `{name}` and `{name:,}` (Python's thousands by commas) and nothing else: a
    catalogue template the CLI fills with another format spec, a conversion or an escaped brace fails here
    before the panel words a value differently from `eval`."""
    for key in tryit.CLI_FORMATS:
        for template in i18n.MESSAGES[key]:
            for literal, name, spec, conversion in string.Formatter().parse(template):
                assert "{" not in literal and "}" not in literal, (key, template)
                assert name is None or (name.isidentifier() and spec in ("", ",") and conversion is None), (key, template)
    data = tryit.panel(Renderer(load(POLICIES).model, None, "en"), load(POLICIES).model.policies["cart.opening"], "en")
    assert data["script"]["formats"]["value.money"] == "¥{whole:,}{frac}"
    assert data["script"]["values"]["cart.min_fans"] == {"label": "Follower threshold", "kind": "count", "enum": None,
                                                         "unit": "followers"}


def test_a_facts_error_is_shown_in_the_pages_language(base: str, browser: Browser, tmp_path: Path) -> None:
    """The error's message is the one `eval --lang` prints after its `error: ` / `错误：`."""
    _, expected = eval_json(tmp_path, "cart.opening", "--at", AT, facts={"account": {"fans": "many"}})
    for lang in ("zh", "en"):
        open_panel(browser, page(base, lang, "cart.opening"))
        type_into(browser, "#try-account-fans", "many")
        submit(browser)
        label = load(POLICIES).model.policies["cart.opening"].inputs["account.fans"].label.get(lang)
        assert shown(browser)["errors"] == [docs_s("tryit.error", lang, status=422) + expected["error"]["message"][lang],
                                            docs_s("tryit.facts", lang) + f"{label} (account.fans)"]
        cli = run("eval", "cart.opening", "--facts", "-", "--at", AT, "--lang", lang, stdin='{"account": {"fans": "many"}}')
        assert cli.returncode == 2
        assert shown(browser)["error_message"] == [cli.stderr.removeprefix(i18n.t("E.prefix", lang)).removesuffix("\n")]


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
    assert shown(browser)["reasons"] == [[r["code"], r["message"]["en"]] for r in expected["reasons"]]
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
class Prefixed(http.server.BaseHTTPRequestHandler):
    """A reverse proxy serving the service under /rules/, the prefix stripped, as an ingress mounts it."""

    upstream = ""  # host:port of the real server

    def forward(self) -> None:
        if not self.path.startswith("/rules/"):
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        connection.request(self.command, self.path[len("/rules"):], self.rfile.read(length) if length else None,
                           {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")})
        answer = connection.getresponse()
        data = answer.read()
        connection.close()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = forward

    def log_message(self, *args: Any) -> None:
        pass


def test_behind_a_proxys_path_prefix_the_panel_finds_the_service_under_it(base: str, browser: Browser,
                                                                         tmp_path: Path) -> None:
    """The page came from /rules/docs/…: the panel asks /rules/v1/… (found relative to its script), and `/rules/`
    sends to `/rules/docs/` (a relative redirect)."""
    handler = type("Handler", (Prefixed,), {"upstream": base.removeprefix("http://")})
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    worker = threading.Thread(target=proxy.serve_forever, daemon=True)
    worker.start()
    front = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        mark = len(browser.events)
        open_panel(browser, f"{front}/rules/docs/en/html/policies/cart.opening.html")
        fill(browser, load(POLICIES).model, "cart.opening", POOR, "en")
        submit(browser)
        panel = shown(browser)
        root = httpx.get(f"{front}/rules/", timeout=30, follow_redirects=True)
    finally:
        proxy.shutdown()
        proxy.server_close()
    _, decision = eval_json(tmp_path, "cart.opening", "--at", AT, facts=POOR)
    assert (panel["outcome"], panel["errors"]) == (i18n.t(f"outcome.{decision['outcome']}", "en"), [])
    assert [code for code, _ in panel["reasons"]] == [r["code"] for r in decision["reasons"]]
    asked = [u for u in requests_since(browser, mark) if not u.startswith("data:")]
    assert f"{front}/rules/v1/status" in asked and f"{front}/rules/v1/policies/cart.opening/decide" in asked
    assert [u for u in asked if not u.startswith(f"{front}/rules/")] == [f"{front}/favicon.ico"]  # the browser's
    assert (root.status_code, str(root.url)) == (200, f"{front}/rules/docs/")


def test_the_handbook_is_served_under_docs_and_the_root_sends_there(base: str, handbook: Path) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        root = client.get("/")
        assert (root.status_code, root.headers["location"]) == (307, "docs/")  # relative: see the prefix test
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
