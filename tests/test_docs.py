"""The handbook (`policydsl docs`): structure of the rendered pages in both languages, links and
anchors, determinism, `--check`, atomic replacement, escaping, and one golden Markdown page.

The fixture rule book (test_docs_support.py) has a range table, a matrix table with not_open and
not_stated cells, a rollout, an assumption, supersession, an exception, properties and a feature with an
outline (the properties section itself is tested in test_docs_properties.py).
To refresh the golden page after a deliberate change, run

    POLICYDSL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_docs.py

and review the diff of tests/golden/docs/ like any other change.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from policydsl import docs as handbook
from policydsl.bdd.phrases import PHRASES
from policydsl.cli import main
from policydsl.docs import site
from policydsl.loader import load

from test_docs_support import parse_html, squash, table_rows, write_fixture

GOLDEN = Path(__file__).resolve().parent / "golden" / "docs"
UPDATE = os.environ.get("POLICYDSL_UPDATE_GOLDEN") == "1"
PAGE = "policies/fixture.deposit"


def docs(root: Path, out: Path, *extra: str):
    """Run `policydsl docs` in-process on the fixture under `root`; the result has exit_code and output."""
    args = ["docs", "--policies", str(root / "policies"), "--features", str(root / "features"), "--out", str(out),
            *extra]
    return CliRunner().invoke(main, args, env={"POLICYDSL_LANG": "en"})


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The fixture rendered once into <tmp>/out, for the tests that only read it."""
    root = write_fixture(tmp_path_factory.mktemp("docs"))
    result = docs(root, root / "out")
    assert result.exit_code == 0, result.output
    return root / "out"


def html(out: Path, lang: str, page: str = PAGE):
    return parse_html((out / lang / "html" / f"{page}.html").read_text(encoding="utf-8"))


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- what is rendered
def test_the_tree_has_both_languages_in_markdown_and_html(book: Path) -> None:
    names = set(files_of(book))
    for lang in ("zh", "en"):
        for page in ("index", "inventory", "glossary", "dictionary", "changes", "steps", PAGE, "policies/xss.probe",
                     "policies/fixture.dictionary"):
            assert f"{lang}/md/{page}.md" in names
            assert f"{lang}/html/{page}.html" in names
        assert f"{lang}/md/policies/fixture.deposit.timeline.svg" in names
        assert f"{lang}/md/changes.svg" in names
        assert f"{lang}/html/assets/search-index.js" in names
    assert "policies/xss.probe.timeline.svg" not in {n.split("/md/")[-1] for n in names}  # no dates: no picture
    assert {"index.html", "README.md", ".policydsl-handbook"} <= names


EXPECTED = {
    "zh": {
        "h1": "测试保证金 fixture.deposit",
        "h2": ["概要", "生效时间线", "输入事实", "计算取值", "规则", "性质（经 policydsl verify 证明）", "表格", "灰度放开",
               "假设", "说明", "来源引文", "示例", "试一试", "政策源代码 fixture.policy"],
        "matrix": [["开店主体 \\ 类目", "服饰", "珠宝"], ["个人", "¥500", "暂不开放"], ["企业", "¥2000", "原文未说明"]],
        "range": [["开店天数", "保证金比例"], ["0 至 90 天", "50%"], ["91 至 180 天", "100%"], ["大于 180 天", "80%"]],
        "cases": [["情形", "取值"], ["2023-01-01 至 2023-06-30", "30 天"], ["2023-07-01 起", "60 天"]],
        "rollout": [["阶段", "开始", "结束", "覆盖比例"], ["内测 pilot", "2023-03-01", "2023-03-31", "0% → 50%"],
                    ["全面生效 full", "2023-04-01", "2023-04-30", "50% → 100%"]],
        "age_2023": ["生效期", "2023-01-01 至 2023-06-30", "被取代于", "个人店铺需开店满 60 天",
                     "例外（按优先级）", "白名单商家除外（优先级 1）", "适用条件", "开店主体为 个人",
                     "要求", "开店天数不少于 开店天数门槛（30 天）", "结论", "否则拒绝 too_young",
                     "提示信息", "开店天数 〈开店天数〉，不足 〈开店天数门槛〉", "来源编号", "R900.1"],
        "age_2023h2": ["生效期", "2023-07-01 起", "取代", "个人店铺需开店满 30 天", "适用条件",
                       "开店主体为 个人 且 白名单商家为 否", "要求", "开店天数不少于 开店天数门槛（60 天）", "结论",
                       "否则拒绝 too_young", "提示信息", "开店天数 〈开店天数〉，不足 〈开店天数门槛〉", "来源编号", "R900.1"],
        "vip_exempt": ["生效期", "随政策生效", "例外于", "个人店铺需开店满 30 天（优先级 1）", "适用条件", "白名单商家",
                       "结论", "允许 vip_exempt", "提示信息", "白名单商家不受开店天数限制", "来源编号", "R900.2"],
        "deposit.due": "「保证金标准」中 开店主体、经营类目 对应的值 × 「保证金比例」中 开店天数 对应的值",
        "lanes": ["政策生效期", "个人店铺需开店满 30 天", "个人店铺需开店满 60 天", "开店天数门槛", "内测：逐步放开",
                  "全面生效：逐步放开"],
        "bars": ["2023-01-01 起", "2023-01-01 至 2023-06-30", "2023-07-01 起", "2023-01-01 至 2023-06-30 · 30 天",
                 "2023-07-01 起 · 60 天", "2023-03-01 至 2023-03-31 · 0% → 50%", "2023-04-01 至 2023-04-30 · 50% → 100%"],
        "examples": [
            "允许 个人，服饰，开店天数 10 天，白名单商家：是，账号ID acct-2，2023-08-01 → 允许",
            "拒绝 个人，服饰，开店天数 29 天，白名单商家：否，账号ID acct-1，2023-06-01 → 拒绝：开店天数 29 天，不足 30 天",
            "允许 个人，服饰，开店天数 120 天，白名单商家：否，账号ID acct-1，2023-06-01 → 允许"],
        "example_titles": ["示例（fixture.en.feature 第 4 行）", "个人店铺开店天数", "个人店铺开店天数"],
        "assumed": "假设 ratio_80：品牌期比例取 80%，原文只写“八成”。",
    },
    "en": {
        "h1": "Test deposit fixture.deposit",
        "h2": ["Overview", "Timeline", "Input facts", "Computed values", "Rules", "Properties (proved by policydsl verify)",
               "Tables", "Rollouts", "Assumptions", "Notes", "Source quotes", "Worked examples", "Try it",
               "Policy source fixture.policy"],
        "matrix": [["Shop subject \\ Category", "Apparel", "Jewellery"], ["Personal", "¥500", "not open"],
                   ["Company", "¥2,000", "not stated in the sources"]],
        "range": [["Shop age", "Deposit ratio"], ["0 to 90 days", "50%"], ["91 to 180 days", "100%"],
                  ["more than 180 days", "80%"]],
        "cases": [["Case", "Value"], ["2023-01-01 to 2023-06-30", "30 days"], ["from 2023-07-01", "60 days"]],
        "rollout": [["Phase", "From", "Until", "Coverage"], ["Pilot pilot", "2023-03-01", "2023-03-31", "0% → 50%"],
                    ["Full full", "2023-04-01", "2023-04-30", "50% → 100%"]],
        "age_2023": ["In force", "2023-01-01 to 2023-06-30", "Superseded by", "Personal shops must be 60 days old",
                     "Exceptions (by priority)", "Allow-listed merchants are exempt (priority 1)", "Applies when",
                     "Shop subject is Personal", "Requires", "Shop age is at least Minimum shop age (30 days)",
                     "Outcome", "otherwise deny too_young", "Message", "Shop age ⟨Shop age⟩, below ⟨Minimum shop age⟩",
                     "Inventory ids", "R900.1"],
        "age_2023h2": ["In force", "from 2023-07-01", "Supersedes", "Personal shops must be 30 days old", "Applies when",
                       "Shop subject is Personal and Allow-listed merchant is no", "Requires",
                       "Shop age is at least Minimum shop age (60 days)", "Outcome", "otherwise deny too_young",
                       "Message", "Shop age ⟨Shop age⟩, below ⟨Minimum shop age⟩", "Inventory ids", "R900.1"],
        "vip_exempt": ["In force", "whenever the policy is in force", "Exception to",
                       "Personal shops must be 30 days old (priority 1)", "Applies when", "Allow-listed merchant",
                       "Outcome", "allow vip_exempt", "Message", "Allow-listed merchants have no shop-age limit",
                       "Inventory ids", "R900.2"],
        "deposit.due": "the “Deposit standard” for Shop subject, Category × the “Deposit ratio” for Shop age",
        "lanes": ["Policy in force", "Personal shops must be 30 days old", "Personal shops must be 60 days old",
                  "Minimum shop age", "Pilot: Gradual rollout", "Full: Gradual rollout"],
        "bars": ["from 2023-01-01", "2023-01-01 to 2023-06-30", "from 2023-07-01", "2023-01-01 to 2023-06-30 · 30 days",
                 "from 2023-07-01 · 60 days", "2023-03-01 to 2023-03-31 · 0% → 50%",
                 "2023-04-01 to 2023-04-30 · 50% → 100%"],
        "examples": [
            "allow Personal, Apparel, Shop age 10 days, Allow-listed merchant: yes, Account id acct-2, 2023-08-01 → allow",
            "deny Personal, Apparel, Shop age 29 days, Allow-listed merchant: no, Account id acct-1, 2023-06-01 → deny: "
            "Shop age 29 days, below 30 days",
            "allow Personal, Apparel, Shop age 120 days, Allow-listed merchant: no, Account id acct-1, 2023-06-01 → allow"],
        "example_titles": ["Allow-listed merchants are exempt", "Example (fixture.zh.feature, line 16)",
                           "Example (fixture.zh.feature, line 17)"],
        "assumed": "Assumption ratio_80: The brand-period ratio is taken as 80%; the text says “eight tenths”.",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_policy_page_structure(book: Path, lang: str) -> None:
    want = EXPECTED[lang]
    page = html(book, lang)
    assert page.find("html").attrs["lang"] == {"zh": "zh-CN", "en": "en"}[lang]
    assert squash(page.find("h1").text()) == want["h1"]
    assert [squash(h.text()) for h in page.find("main").find_all("h2")] == want["h2"]
    assert table_rows(page.find(id="table-deposit_grid").find("table")) == want["matrix"]
    assert table_rows(page.find(id="table-stage_ratio").find("table")) == want["range"]
    assert table_rows(page.find(id="define-min_age").find("table")) == want["cases"]
    assert table_rows(page.find(id="rollout-fixture_rollout").find("table")) == want["rollout"]
    for rule in ("age_2023", "age_2023h2", "vip_exempt"):
        clauses = page.find(id=f"rule-{rule}").find("dl")
        assert [squash(n.text()) for n in clauses.children if not isinstance(n, str)] == want[rule]
    due = page.find(id="define-deposit.due").find("dl")
    assert squash(due.find_all("dd")[-1].text()) == want["deposit.due"]
    # The not-open and not-stated cells are marked for styling, not only worded.
    grid = page.find(id="table-deposit_grid")
    assert [squash(c.text()) for c in grid.find_all("td", cls="not-open")] == [want["matrix"][1][2]]
    assert [squash(c.text()) for c in grid.find_all("td", cls="not-stated")] == [want["matrix"][2][2]]
    # The assumption stands next to each thing it is about (a table and a rule) and in its own section.
    for anchor in ("table-stage_ratio", "rule-age_2023"):
        assert squash(page.find(id=anchor).find(cls="assumed").text()) == want["assumed"]
    assert page.find(id="assume-ratio_80")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_timeline_picture_shows_periods_and_rollout_phases(book: Path, lang: str) -> None:
    want = EXPECTED[lang]
    svg = html(book, lang).find("svg", cls="timeline-svg")
    assert [squash(t.text()) for t in svg.find_all("text", cls="lane-label")] == want["lanes"]
    assert [squash(t.text()) for t in svg.find_all("text", cls="bar-text")] == want["bars"]
    assert len(svg.find_all("polygon", cls="pilot")) == len(svg.find_all("polygon", cls="full")) == 1  # ramps
    assert svg.attrs["data-today"] == {"zh": "今天", "en": "today"}[lang]
    assert svg.find("g", cls="today").children == []  # today is drawn by the browser, never written
    standalone = (book / lang / "md" / "policies" / "fixture.deposit.timeline.svg").read_text(encoding="utf-8")
    assert standalone.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')
    for text in want["bars"]:
        assert f">{text}</text>" in standalone
    markdown = (book / lang / "md" / f"{PAGE}.md").read_text(encoding="utf-8")
    assert "](fixture.deposit.timeline.svg)" in markdown


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_worked_examples_show_facts_date_and_computed_decision(book: Path, lang: str) -> None:
    items = html(book, lang).find(id="examples").find_all("li", cls="example")
    assert [squash(i.find("p", cls="line").text()) for i in items] == EXPECTED[lang]["examples"]
    assert [squash(i.find("span", cls="title").text()) for i in items] == EXPECTED[lang]["example_titles"]
    assert [b.attrs["class"] for i in items for b in i.find_all("span", cls="badge")] == \
        ["badge allow", "badge deny", "badge allow"]


def test_markdown_tables_and_prose(book: Path) -> None:
    zh = (book / "zh" / "md" / f"{PAGE}.md").read_text(encoding="utf-8")
    en = (book / "en" / "md" / f"{PAGE}.md").read_text(encoding="utf-8")
    assert "| **个人** | ¥500 | *暂不开放* |\n| **企业** | ¥2000 | *原文未说明* |" in zh
    assert "| **Personal** | ¥500 | *not open* |\n| **Company** | ¥2,000 | *not stated in the sources* |" in en
    assert "| **大于 180 天** | 80% |" in zh and "| **more than 180 days** | 80% |" in en
    assert "- 要求：开店天数不少于 开店天数门槛（30 天）\n" in zh
    assert "- Requires: Shop age is at least Minimum shop age (30 days)\n" in en


def test_whole_book_pages(book: Path) -> None:
    index = html(book, "zh", "index")
    assert [squash(h.text()) for h in index.find("main").find_all("h3")] == ["主题 fixture", "主题 xss"]
    inventory = table_rows(html(book, "en", "inventory").find("table"))
    assert inventory[0] == ["Id", "Document", "Policy", "Rules", "Scenarios", "Assumptions", "Status"]
    assert inventory[1] == ["R900.1", "900_fixture.txt", "Test deposit",
                            "Personal shops must be 30 days oldPersonal shops must be 60 days old",
                            "1 scenario(s)a scenario of fixture.zh.feature",
                            "ratio_80", "encoded and tested"]
    assert inventory[2][0] == "R900.2" and inventory[2][-1] == "encoded and tested"
    glossary = html(book, "zh", "glossary")
    assert table_rows(glossary.find(id="enum-subject").find("table")) == [
        ["编号", "中文", "英文"], ["subject", "开店主体", "Shop subject"], ["personal", "个人", "Personal"],
        ["company", "企业", "Company"]]
    facts = table_rows(glossary.find_all("table")[-2])  # enumerations, then facts, then units
    assert ["shop.age", "开店天数", "Shop age", "输入事实", "测试保证金"] in facts
    changes = table_rows(html(book, "en", "changes").find("table", cls="changes"))
    assert changes[1:4] == [
        ["2023-01-01", "Test deposit", "policy “Test deposit” comes into force"],
        ["2023-03-01", "Test deposit", "rollout “Gradual rollout” enters phase “Pilot” (0% → 50%)"],
        ["2023-03-31", "Test deposit", "last day of phase “Pilot” of rollout “Gradual rollout”"]]
    steps = table_rows(html(book, "zh", "steps").find("table"))
    assert steps[1] == ["假如（设定事实）", "假如 粉丝数 为 999", "Given 粉丝数 is 999",
                        "设定一个事实；事实可用编号或中英文标签，枚举值可用编号或标签"]


def test_every_link_and_anchor_resolves(book: Path) -> None:
    """Every relative href/src of every HTML page, and every link of every Markdown page, names an
    existing file and, with a #fragment, an element id (or `<a id>`) in it; nothing is remote."""
    ids: dict[Path, set[str]] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in ids:
            text = path.read_text(encoding="utf-8")
            ids[path] = set(re.findall(r'\bid="([^"]+)"', text))
        return ids[path]

    checked = 0
    for path in sorted(book.rglob("*")):
        if path.suffix == ".html":
            targets = [n.attrs.get("href") or n.attrs.get("src") for n in parse_html(path.read_text("utf-8")).find_all()
                       if n.attrs.get("href") is not None or n.attrs.get("src") is not None]
        elif path.suffix == ".md":
            targets = re.findall(r"\]\(([^)\s]+)\)", path.read_text("utf-8"))
        else:
            continue
        for target in targets:
            parts = urlsplit(target)
            assert not parts.scheme and not parts.netloc, f"{path}: remote reference {target}"
            file = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            assert file.is_file(), f"{path.relative_to(book)}: broken link {target}"
            if parts.fragment:
                assert unquote(parts.fragment) in ids_of(file), f"{path.relative_to(book)}: no #{parts.fragment} in {file.name}"
            checked += 1
    assert checked > 500


def test_chinese_pages_have_no_english_words_outside_ids_and_code(book: Path) -> None:
    """Every word a reader sees on a Chinese page is Chinese, except ids, code and file names
    (marked up as <code>, or in the glossary's English column, which is the point of a glossary)
    and what the authors wrote in their own Chinese texts (账号ID)."""
    model = load(book.parent / "policies").model
    authored = [e.label.zh for e in model.enums.values()] + [v.label.zh for e in model.enums.values() for v in e.values]
    for policy in model.policies.values():
        authored += [policy.title.zh, *(i.label.zh for i in policy.inputs.values()),
                     *(d.label.zh for d in policy.defines.values()),
                     *(r.decl.label.zh + r.decl.body.message.zh for r in policy.rules)]
    authored += [phrase.doc_zh for phrase in PHRASES]  # the step library's own Chinese descriptions
    allowed = {"SHA"} | set(re.findall(r"[A-Za-z]{2,}", " ".join(authored)))  # SHA-256: the rollout's hash
    for path in sorted((book / "zh" / "html").rglob("*.html")):
        page = parse_html(path.read_text(encoding="utf-8"))
        for skip in ("code", "pre", "script", "style", "head"):
            for node in page.find_all(skip):
                node.children.clear()
        for node in page.find_all(lang="en"):
            node.children.clear()
        words = set(re.findall(r"[A-Za-z]{2,}", re.sub(r"[\w.-]+\.(?:feature|policy|txt)|R\d{3}\.\d+|acct-\d",
                                                          "", page.text())))
        words -= {"script", "alert", "img", "src", "onerror", "onmouseover", "svg", "onload"}  # the XSS probe's text
        assert words <= allowed, f"{path.relative_to(book)}: {sorted(words - allowed)}"


def test_search_index_is_a_script_with_chinese_text(book: Path) -> None:
    text = (book / "zh" / "html" / "assets" / "search-index.js").read_text(encoding="utf-8")
    assert text.startswith("window.POLICYDSL_SEARCH = [") and text.endswith("];\n")
    rows = json.loads(text[len("window.POLICYDSL_SEARCH = "):-2])
    rule = next(r for r in rows if r[0] == f"{PAGE}.html#rule-age_2023")
    assert rule[1:3] == ["规则", "个人店铺需开店满 30 天 — 测试保证金"]
    assert "开店天数不少于 开店天数门槛（30 天）" in rule[3]


def test_policy_source_is_highlighted_and_complete(book: Path) -> None:
    from test_docs_support import FIXTURE_POLICY
    from policydsl.docs.highlight import tokens

    assert "".join(text for _, text in tokens(FIXTURE_POLICY)) == FIXTURE_POLICY
    line = 'rule age_2023 "个人" / "Personal" # c\n  require shop.age >= ¥0.5 else deny x 30 days 2023-01-01 80% R900.1'
    assert [(k, x) for k, x in tokens(line) if k != "space"] == [
        ("keyword", "rule"), ("name", "age_2023"), ("string", '"个人"'), ("op", "/"), ("string", '"Personal"'),
        ("comment", "# c"), ("keyword", "require"), ("name", "shop.age"), ("op", ">="), ("number", "¥0.5"),
        ("keyword", "else"), ("outcome", "deny"), ("name", "x"), ("number", "30"), ("keyword", "days"),
        ("number", "2023-01-01"), ("number", "80%"), ("number", "R900.1")]
    source = html(book, "en").find("pre", cls="source")
    assert source.text() == FIXTURE_POLICY
    assert [squash(s.text()) for s in source.find_all("span", cls="tok-comment")][:1] == [
        "# A small rule book for the handbook's tests: a range table, a matrix table with not_open and"]
    assert [s.text() for s in source.find_all("span", cls="ln")][12] == "policy fixture.deposit"


# ---------------------------------------------------------------- escaping
def test_policy_text_is_escaped_in_html_and_markdown(book: Path) -> None:
    for lang in ("zh", "en"):
        raw = (book / lang / "html" / "policies" / "xss.probe.html").read_text(encoding="utf-8")
        assert "<script>alert" not in raw and "<img src=x" not in raw and "<b onmouseover" not in raw
        assert "<svg onload" not in raw
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
        page = parse_html(raw)
        assert squash(page.find("h1").text()) == "<script>alert(1)</script> xss.probe"
        scripts = page.find_all("script")
        assert [s.attrs.get("src") for s in scripts] == ["../assets/search-index.js", "../assets/search.js",
                                                          "../assets/page.js", "../assets/tryit.js", None]
        assert "alert" not in scripts[2].text()
        markdown = (book / lang / "md" / "policies" / "xss.probe.md").read_text(encoding="utf-8")
        prose, _, source = markdown.partition('<a id="source"></a>')  # the policy source is a literal code block
        assert "# \\<script\\>alert(1)\\</script\\> `xss.probe`" in prose
        assert re.search(r"(?<!\\)<(?:script|img|b\s|svg|/span)", prose) is None  # every < is escaped: \<
        assert "\n```text\npolicy xss.probe\n  title \"<script>alert(1)</script>\"" in source
    index = (book / "en" / "html" / "assets" / "search-index.js").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" in index  # data for textContent, never markup (see search.js)


# ---------------------------------------------------------------- determinism, --check, atomicity
def test_a_fifo_among_the_features_is_left_out_not_waited_on(tmp_path: Path) -> None:
    # the features were read with Path.read_text: a FIFO named *.feature blocked `docs` for good
    import subprocess
    import sys

    root = write_fixture(tmp_path / "book")
    os.mkfifo(root / "features" / "pipe.feature")
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "docs", "--policies", str(root / "policies"),
                             "--features", str(root / "features"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "POLICYDSL_LANG": "en"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "index.html").is_file()


@pytest.mark.parametrize("age", ["²", "9" * 5000])
def test_a_worked_example_with_a_count_int_cannot_read_is_rendered(tmp_path: Path, age: str) -> None:
    # the example's count was int(text) when text.isdigit(): ValueError, an internal error (exit 3)
    import subprocess
    import sys

    root = write_fixture(tmp_path / "book")
    feature = root / "features" / "fixture.en.feature"
    feature.write_text(feature.read_text(encoding="utf-8").replace("| Shop age              | 10       |",
                                                                   f"| Shop age              | {age} |"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "docs", "--policies", str(root / "policies"),
                             "--features", str(root / "features"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "POLICYDSL_LANG": "en"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "index.html").is_file()


def test_output_is_deterministic_and_machine_independent(tmp_path: Path) -> None:
    root = write_fixture(tmp_path / "a")
    assert docs(root, tmp_path / "one").exit_code == 0
    assert docs(root, tmp_path / "two").exit_code == 0
    one, two = files_of(tmp_path / "one"), files_of(tmp_path / "two")
    assert one == two
    for name, data in one.items():
        text = data.decode("utf-8")
        assert str(tmp_path) not in text and os.sep + "tmp" not in text, name
    # The same rule book elsewhere renders byte for byte the same.
    elsewhere = write_fixture(tmp_path / "b" / "deeper")
    assert docs(elsewhere, tmp_path / "three").exit_code == 0
    assert files_of(tmp_path / "three") == one


def test_check_passes_when_fresh_and_names_every_stale_missing_or_extra_file(tmp_path: Path) -> None:
    root = write_fixture(tmp_path)
    out = tmp_path / "out"
    missing = docs(root, out, "--check")
    assert missing.exit_code == 1 and f"missing: {(out / 'zh/md/index.md').as_posix()}" in missing.output
    assert docs(root, out).exit_code == 0
    fresh = docs(root, out, "--check")
    assert (fresh.exit_code, fresh.output) == (0, f"{out} is up to date\n")
    page = out / "zh" / "md" / f"{PAGE}.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    (out / "en" / "html" / "steps.html").unlink()
    (out / "zh" / "notes.txt").write_text("mine", encoding="utf-8")
    stale = docs(root, out, "--check")
    assert stale.exit_code == 1
    assert stale.output.splitlines() == [
        f"missing: {(out / 'en/html/steps.html').as_posix()}",
        f"stale: {page.as_posix()}",
        f"extra: {(out / 'zh/notes.txt').as_posix()}",
        f"{out} is stale: 3 file(s) differ; run `policydsl docs` to regenerate it"]
    assert (out / "zh" / "notes.txt").exists()  # --check writes nothing
    # A change to the rule book makes the handbook stale too.
    policy = root / "policies" / "fixture.policy"
    policy.write_text(policy.read_text(encoding="utf-8").replace("¥500", "¥600"), encoding="utf-8")
    assert docs(root, out).exit_code == 0
    assert docs(root, out, "--check").exit_code == 0
    assert "¥600" in (out / "zh" / "md" / f"{PAGE}.md").read_text(encoding="utf-8")
    assert not (out / "zh" / "notes.txt").exists()  # the folder is replaced as a whole


def test_a_failure_mid_render_leaves_the_previous_handbook_untouched(tmp_path: Path, monkeypatch) -> None:
    root = write_fixture(tmp_path)
    out = tmp_path / "out"
    assert docs(root, out).exit_code == 0
    before = files_of(out)
    policy = root / "policies" / "fixture.policy"
    policy.write_text(policy.read_text(encoding="utf-8").replace("¥500", "¥600"), encoding="utf-8")
    real = site.Site.render
    calls = {"n": 0}

    def failing(env, template, context):
        calls["n"] += 1
        if calls["n"] == 20:  # well into the second language's pages
            raise RuntimeError("disk on fire")
        return real(env, template, context)

    monkeypatch.setattr(site.Site, "render", staticmethod(failing))
    with pytest.raises(RuntimeError, match="disk on fire"):
        handbook.write(out, handbook.render(load(root / "policies"), features=root / "features",
                                            policies_dir=root / "policies"))
    assert calls["n"] == 20
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features", "out", "policies"]  # no staging folder left


def test_docs_refuses_to_replace_a_folder_it_did_not_make(tmp_path: Path) -> None:
    root = write_fixture(tmp_path)
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "keep.txt").write_text("keep", encoding="utf-8")
    result = docs(root, tmp_path / "precious")
    assert result.exit_code == 2
    assert "is not a handbook folder made by policydsl and will not be replaced" in result.output
    assert (tmp_path / "precious" / "keep.txt").read_text(encoding="utf-8") == "keep"


def test_a_rule_book_with_errors_is_not_rendered(tmp_path: Path) -> None:
    root = write_fixture(tmp_path)
    policy = root / "policies" / "fixture.policy"
    policy.write_text(policy.read_text(encoding="utf-8").replace('"Test deposit"', '""'), encoding="utf-8")
    result = docs(root, tmp_path / "out")
    assert result.exit_code == 2
    assert "error[P0401]: missing English text" in result.output
    assert not (tmp_path / "out").exists()


def test_only_the_languages_asked_for(tmp_path: Path) -> None:
    root = write_fixture(tmp_path)
    assert docs(root, tmp_path / "out", "--lang", "en").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".policydsl-handbook", "README.md", "en",
                                                                     "index.html"]
    assert "英文版" not in (tmp_path / "out" / "en" / "html" / "index.html").read_text(encoding="utf-8")
    bad = docs(root, tmp_path / "other", "--lang", "zh,fr")
    assert bad.exit_code == 2 and "`zh,fr` is not a list of languages" in bad.output


# ---------------------------------------------------------------- golden page
def test_golden_markdown_page(book: Path) -> None:
    rendered = (book / "zh" / "md" / f"{PAGE}.md").read_text(encoding="utf-8")
    golden = GOLDEN / "fixture.deposit.zh.md"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), "run with POLICYDSL_UPDATE_GOLDEN=1 to create the golden page"
    assert rendered == golden.read_text(encoding="utf-8")


def test_worked_examples_that_fail_read_as_html_with_labels_not_ids():
    """An example's error showed raw Markdown in HTML (`shop_deposit_standard` in backticks) and raw enum ids
    (enterprise, sports_outdoor): names in code spans are code, a not-stated cell is named by its labels."""
    from conftest import ROOT

    handbook = ROOT / "generated_docs"
    for page in handbook.glob("*/html/policies/*.html"):
        for line in re.findall(r'<p class="line">(.*?)</p>', page.read_text(encoding="utf-8")):
            assert "`" not in line, (page.name, line)
    zh = (handbook / "zh" / "html" / "policies" / "shop.deposit.html").read_text(encoding="utf-8")
    assert "评估失败：来源文件没有给出“保证金标准（普通订单）”中 企业号、运动户外 的取值" in zh
    en = (handbook / "en" / "md" / "policies" / "cart.opening.md").read_text(encoding="utf-8")
    assert "evaluation failed: policy `cart.opening` is not in force on 2020-04-06" in en  # a code span in Markdown


def test_a_conditional_dated_case_is_drawn_as_conditional(tmp_path: Path) -> None:
    """`= 15 when … from …` holds on its dates only where its condition does: the timeline drew it like an
    unconditional case. It is drawn hatched (class `conditional`) and says its condition."""
    root = write_fixture(tmp_path)
    path = root / "policies" / "cond.policy"
    path.write_text('policy demo.cond\n  title "条件取值" / "Conditional value"\n  source "doc.txt" quote "x"\n\n'
                    'input shop.big: bool "大店" / "Big shop"\n\n'
                    'define demo.days: count "天数" / "Days"\n'
                    '  = 15 when shop.big from 2024-01-01\n  = 7 from 2023-01-01\n\n'
                    'rule r "规则" / "Rule"\n  require demo.days > 0\n    else deny no_days "无" / "None"\n'
                    '  source "doc.txt" quote "x"\n\nproperty p "总有天数" / "Always days"\n'
                    '  expect outcome == allow\n', encoding="utf-8")
    result = docs(root, root / "out")
    assert result.exit_code == 0, result.output
    for lang, words in (("zh", "15（仅当 大店）"), ("en", "15 (only when Big shop)")):
        svg = html(root / "out", lang, "policies/demo.cond").find("svg", cls="timeline-svg")
        bars = [squash(t.text()) for t in svg.find_all("text", cls="bar-text")]
        assert any(text.endswith(words) for text in bars), bars
        assert len(svg.find_all("rect", cls="conditional")) == 1
        assert any(text.endswith("· 7") for text in bars)  # the unconditional case, as before
