"""The handbook's data dictionary: every fact with its type, unit and labels, and the policies and rules
that read it.

The view model is checked with exact values: on the real rule book against lists read off the .policy
files by hand, and for every fact of the book against the evaluator's own account of what a rule reads
(`CompiledRule.reads`, which the decision trace shows); on the fixture book (test_docs_support.py) for a
fact read only through two values in turn, one read only by a message, one read only by a property, one
nobody reads and the policies' own inputs. The rendered pages are checked for their anchors and links in
both languages, Markdown and HTML.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl.cli import main
from policydsl.docs.book import dictionary_view, glossary_view
from policydsl.docs.view import fact_reads
from policydsl.loader import PolicySet, load

from conftest import POLICIES
from test_docs_support import parse_html, squash, table_rows, write_fixture


@pytest.fixture(scope="module")
def real() -> PolicySet:
    return load(POLICIES)


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory) -> Path:
    root = write_fixture(tmp_path_factory.mktemp("dictionary"))
    result = CliRunner().invoke(main, ["docs", "--policies", str(root / "policies"), "--features",
                                       str(root / "features"), "--out", str(root / "out")],
                                env={"POLICYDSL_LANG": "en"})
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def fixture_book(fixture_root: Path) -> PolicySet:
    return load(fixture_root / "policies")


def rows(view: dict) -> dict[str, dict]:
    return {f["id"]: f for section in view["sections"] for f in section["facts"]}


def who(row: dict) -> list[tuple[str, list[str]]]:
    """A row's readers as (policy id, [rule names]), from the links the page shows."""
    out = []
    for reader in row["readers"]:
        page = reader["policy"]["page"]
        assert page.startswith("policies/")
        pid = page[len("policies/"):]
        names = []
        for rule in reader["rules"]:
            assert rule["page"] == page and rule["anchor"].startswith("rule-")
            names.append(rule["anchor"][len("rule-"):])
        out.append((pid, names))
    return out


# ---------------------------------------------------------------- the real rule book
ACCOUNT_KIND = [
    # cart_opening.policy: `when account.kind …` in four rules
    ("cart.opening", ["fans_2023", "business_licence_2023", "corporate_verification_2023",
                      "individual_verification_2023"]),
    # cart_opening_flow.policy: `when account.kind == enterprise`
    ("cart.opening_flow", ["enterprise_documents"]),
    # deposit_refund.policy: only the message `{refund.destination}`, a value read off account.kind
    ("deposit.refund", ["refund_due"]),
    # enterprise_onboarding.policy: only its header's `applies when account.kind == enterprise`
    ("enterprise.onboarding", []),
    # shop_deposit.policy: the condition and the table call shop_deposit_standard(account.kind, c)
    ("shop.deposit", ["personal_categories_not_open"]),
]


def test_account_kind_is_read_by_exactly_these_policies_and_rules(real: PolicySet) -> None:
    for lang in ("zh", "en"):
        row = rows(dictionary_view(real, lang))["account.kind"]
        assert who(row) == ACCOUNT_KIND
        assert [(r["policy"]["text"], r["others"]) for r in row["readers"] if r["others"]] == [
            (real.model.policies["enterprise.onboarding"].title.get(lang),
             [{"text": "适用于（整本评估）" if lang == "zh" else "Applies to (whole-book decisions)",
               "page": "policies/enterprise.onboarding", "anchor": "overview", "role": ""}])]
    zh = rows(dictionary_view(real, "zh"))["account.kind"]
    assert (zh["label"], zh["other_label"], zh["type"], zh["unit"]) == ("账号类型", "Account type", "账号类型", "")
    assert zh["type_link"] == {"text": "账号类型", "page": "glossary", "anchor": "enum-account_kind", "role": ""}
    assert [r["text"] for r in zh["readers"][2]["rules"]] == ["关店的7个正常工作日内退回"]


def test_facts_read_through_values_rollouts_and_properties_in_the_real_book(real: PolicySet) -> None:
    facts = rows(dictionary_view(real, "en"))
    # official_account.policy: restriction.applies = covered(own_store_rollout), whose key is account.id
    assert who(facts["account.id"]) == [("official_account.own_store_only",
                                         ["live_room_own_store", "showcase_video_own_store"])]
    # alliance_eligibility.policy: only the value alliance.version and a property read the review count
    reader = facts["shop.effective_reviews"]["readers"]
    assert who(facts["shop.effective_reviews"]) == [("alliance.eligibility", [])]
    assert [(x["page"], x["anchor"]) for x in reader[0]["others"]] == [
        ("policies/alliance.eligibility", "define-alliance.version"),
        ("policies/alliance.eligibility", "property-many_reviews_formal_only")]
    assert facts["account.fans"]["unit"] == "followers" and facts["account.fans"]["type"] == "count"


def test_the_real_book_has_one_section_per_entity_and_every_fact(real: PolicySet) -> None:
    model = real.model
    view = dictionary_view(real, "zh")
    assert [s["anchor"] for s in view["sections"]] == [f"entity-{name}" for name in model.entities]
    assert [f["id"] for s in view["sections"] for f in s["facts"]] == list(model.facts)
    assert len(model.facts) == 124 and len(model.entities) == 17
    assert view["sections"][0]["label"] == "抖音账号" and view["sections"][0]["other_label"] == "Douyin account"
    assert all(f["anchor"] == f"fact-{f['id']}" for s in view["sections"] for f in s["facts"])


def _evaluator_reads(book: PolicySet, pid: str) -> dict[str, frozenset[str]]:
    """What the compiled rules read (`when` and `require`, through values, tables and rollouts), plus the
    message placeholders: the same question answered by the compiler's code instead of docs/view.py."""
    compiled = book.compiled[pid]
    out = {}
    for rule in compiled.rules:
        named = {p for parts in rule.message.values() for _, p in parts if p}
        extra = set()
        for path in named:
            extra |= {path} if path in compiled.inputs else set(compiled.defines[path].reads)
        out[rule.name] = rule.reads | extra
    return out


def test_every_reader_of_every_fact_is_on_the_page(real: PolicySet) -> None:
    """For every fact: the page lists exactly the policies whose inputs hold it and, under each, exactly
    the rules the evaluator says read it (in the policy's order). A reader lost fails here."""
    model = real.model
    expected_reads = {pid: _evaluator_reads(real, pid) for pid in model.policies}
    facts = rows(dictionary_view(real, "en"))
    for path, row in facts.items():
        want = [(p.id, [r.name for r in p.rules if path in expected_reads[p.id][r.name]])
                for p in sorted(model.readers(path), key=lambda p: p.id)]
        assert who(row) == want, path
    read_by_some_rule = [path for path, row in facts.items() if any(r["rules"] for r in row["readers"])]
    assert len(read_by_some_rule) > 100  # the comparison is not vacuous


def test_view_reads_agree_with_the_compiled_values(real: PolicySet) -> None:
    for pid, policy in real.model.policies.items():
        reads = fact_reads(real.model, policy)
        compiled = real.compiled[pid]
        assert reads["define"] == {p: compiled.defines[p].reads for p in policy.defines}, pid


def test_the_glossary_lists_the_same_facts_and_readers(real: PolicySet) -> None:
    glossary = glossary_view(real, "en")
    inputs = [t for t in glossary["facts"] if t["link"] is not None]
    assert sorted({t["path"] for t in inputs}) == sorted(rows(dictionary_view(real, "en")))
    for term in inputs:
        assert term["link"] == {"text": term["path"], "page": "dictionary", "anchor": f"fact-{term['path']}",
                                "role": "code"}
        assert [u["page"][len("policies/"):] for u in term["used_in"]] == \
            sorted(p.id for p in real.model.readers(term["path"]))


# ---------------------------------------------------------------- the fixture book
def test_fact_reads_of_the_fixture_policies(fixture_book: PolicySet) -> None:
    model = fixture_book.model
    assert fact_reads(model, model.policies["fixture.dictionary"]) == {
        "rule": {"rating_min": {"merchant.rating"},
                 "high_fee": {"merchant.region"},  # fee.high = fee.rate > 4%, fee.rate reads the region
                 "vip_orders": {"shop.vip", "merchant.orders"}},  # merchant.orders only in the message
        "define": {"fee.rate": {"merchant.region"}, "fee.high": {"merchant.region"}},
        "property": {"top_rating_passes": {"merchant.rating", "merchant.deposit"}},
        "applies": {"": set()}}  # it applies to every record
    reads = fact_reads(model, model.policies["fixture.deposit"])
    assert reads["rule"] == {"age_2023": {"shop.subject", "shop.age"},  # min_age reads no fact
                             "age_2023h2": {"shop.subject", "shop.vip", "shop.age"},
                             "vip_exempt": {"shop.vip"}}
    assert reads["define"] == {"deposit.due": {"shop.subject", "shop.category", "shop.age"},
                               "min_age": set(), "rollout.on": {"account.id"}}  # covered(): the rollout's key


def _reader(pid: str, title: str, rules: list[tuple[str, str]], others: list[tuple[str, str]] = ()) -> dict:
    page = f"policies/{pid}"
    return {"policy": {"text": title, "page": page, "anchor": "", "role": ""},
            "rules": [{"text": text, "page": page, "anchor": f"rule-{name}", "role": ""} for name, text in rules],
            "others": [{"text": text, "page": page, "anchor": anchor, "role": ""} for anchor, text in others]}


def test_fixture_dictionary_view_in_chinese(fixture_book: PolicySet) -> None:
    view = dictionary_view(fixture_book, "zh")
    assert view["other_lang"] == "en"
    assert [(s["anchor"], s["name"], s["label"], s["other_label"]) for s in view["sections"]] == [
        ("entity-merchant", "merchant", "商家", "Merchant"), ("other-facts", "", "其他事实", "")]
    merchant, others = view["sections"]
    assert merchant["intro"] == "" and others["intro"] == "以下事实不属于词汇表中的任何实体，而是由政策自行声明的输入事实。"
    dictionary = "测试数据字典"

    def fact(path, label, other, type_, unit, readers, type_link=None):
        return {"id": path, "anchor": f"fact-{path}", "label": label, "other_label": other, "type": type_,
                "type_link": type_link, "unit": unit, "readers": readers}

    assert merchant["facts"] == [
        fact("merchant.region", "所在地区", "Region", "地区",
             "", [_reader("fixture.dictionary", dictionary, [("high_fee", "高费率提示")])],
             {"text": "地区", "page": "glossary", "anchor": "enum-region", "role": ""}),
        fact("merchant.rating", "商家评分", "Merchant rating", "数值", "",
             [_reader("fixture.dictionary", dictionary, [("rating_min", "商家评分不低于 4 分")])]),
        fact("merchant.orders", "订单数", "Orders", "计数", "单",
             [_reader("fixture.dictionary", dictionary, [("vip_orders", "白名单商家的订单数")])]),
        fact("merchant.deposit", "已缴保证金", "Deposit paid", "金额（元）", "",
             [_reader("fixture.dictionary", dictionary, [],
                      [("property-top_rating_passes", "评分为 5 分且已缴保证金的商家不会因评分被拒绝")])]),
        fact("merchant.joined_on", "入驻日期", "Joined on", "日期", "", []),
    ]
    # The policies' own inputs, by id; shop.vip is declared by two policies under different names.
    assert [(f["id"], f["label"], f["other_label"], who(f)) for f in others["facts"]] == [
        ("account.id", "账号ID", "Account id", [("fixture.deposit", [])]),
        ("probe.flag", "<b onmouseover=alert(3)>标记</b>", "<b onmouseover=alert(3)>flag</b>",
         [("xss.probe", ["probe"])]),
        ("shop.age", "开店天数", "Shop age", [("fixture.deposit", ["age_2023", "age_2023h2"])]),
        ("shop.category", "经营类目", "Category", [("fixture.deposit", [])]),
        ("shop.subject", "开店主体", "Shop subject", [("fixture.deposit", ["age_2023", "age_2023h2"])]),
        ("shop.vip", "白名单商家、白名单", "Allow-listed merchant, Allow-listed",
         [("fixture.deposit", ["age_2023h2", "vip_exempt"]), ("fixture.dictionary", ["vip_orders"])]),
    ]
    account_id = others["facts"][0]["readers"][0]["others"]
    assert [(x["anchor"], x["text"]) for x in account_id] == [("define-rollout.on", "已放开")]


def test_fixture_dictionary_view_in_english(fixture_book: PolicySet) -> None:
    view = dictionary_view(fixture_book, "en")
    assert view["other_lang"] == "zh-CN"
    merchant, others = view["sections"]
    assert (merchant["label"], merchant["other_label"], others["label"]) == ("Merchant", "商家", "Other facts")
    facts = rows(view)
    assert (facts["merchant.orders"]["label"], facts["merchant.orders"]["other_label"],
            facts["merchant.orders"]["type"], facts["merchant.orders"]["unit"]) == ("Orders", "订单数", "count", "orders")
    assert facts["merchant.region"]["readers"][0]["rules"][0]["text"] == "High fee notice"
    assert facts["shop.vip"]["label"] == "Allow-listed merchant, Allow-listed"


def test_a_book_without_local_inputs_has_no_other_facts_section(tmp_path: Path) -> None:
    from test_docs_support import DICTIONARY_POLICY, VOCABULARY_POLICY

    (tmp_path / "vocabulary.policy").write_text(VOCABULARY_POLICY, encoding="utf-8")
    (tmp_path / "p.policy").write_text(DICTIONARY_POLICY.replace('input shop.vip: bool "白名单" / "Allow-listed"\n', "")
                                       .replace("when shop.vip", "when merchant.rating > 4"), encoding="utf-8")
    view = dictionary_view(load(tmp_path), "en")
    assert [s["anchor"] for s in view["sections"]] == ["entity-merchant"]


# ---------------------------------------------------------------- the rendered pages
def page(root: Path, lang: str, fmt: str, name: str = "dictionary") -> str:
    return (root / "out" / lang / fmt / f"{name}.{fmt}").read_text(encoding="utf-8")


READERS_HTML = {
    "zh": [[("测试数据字典", ["高费率提示"])], [("测试数据字典", ["商家评分不低于 4 分"])],
           [("测试数据字典", ["白名单商家的订单数"])],
           [("测试数据字典（没有规则读取；读取它的是：评分为 5 分且已缴保证金的商家不会因评分被拒绝）", [])], "尚无政策读取"],
    "en": [[("Test data dictionary", ["High fee notice"])], [("Test data dictionary", ["Merchant rating at least 4"])],
           [("Test data dictionary", ["Orders of an allow-listed merchant"])],
           [("Test data dictionary (no rule reads it; read by A merchant rated 5 that paid a deposit is not turned "
             "down for its rating)", [])], "not read by any policy yet"],
}


def readers_cell(td) -> list[tuple[str, list[str]]] | str:
    """A "read by" cell: [(the policy's line, [its rules])], or the cell's text when no policy reads the fact."""
    lists = td.find_all("ul", cls="readers")
    if not lists:
        return squash(td.text())
    out = []
    for item in (c for c in lists[0].children if not isinstance(c, str)):
        rules = [squash(li.text()) for li in item.find_all("li")]
        head = "".join(c if isinstance(c, str) else c.text() for c in item.children
                       if isinstance(c, str) or c.tag != "ul")
        out.append((squash(head), rules))
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_page_has_sections_rows_and_links(fixture_root: Path, lang: str) -> None:
    doc = parse_html(page(fixture_root, lang, "html"))
    main_ = doc.find("main")
    assert squash(main_.find("h1").text()) == {"zh": "数据字典", "en": "Data dictionary"}[lang]
    assert [squash(h.text()) for h in main_.find_all("h2")] == \
        {"zh": ["商家 merchant", "其他事实"], "en": ["Merchant merchant", "Other facts"]}[lang]
    table = doc.find(id="entity-merchant").find("table")
    header = table_rows(table)[0]
    assert header == {"zh": ["编号", "名称", "英文名称", "类型", "单位", "读取者"],
                      "en": ["Id", "Name", "Chinese name", "Type", "Unit", "Read by"]}[lang]
    assert [r.attrs["id"] for r in table.find_all("tr") if "id" in r.attrs] == [
        "fact-merchant.region", "fact-merchant.rating", "fact-merchant.orders", "fact-merchant.deposit",
        "fact-merchant.joined_on"]
    assert [readers_cell(td) for td in table.find_all("td", cls="readers")] == READERS_HTML[lang]
    other = {"zh": "en", "en": "zh-CN"}[lang]
    assert all(r.find_all("td")[1].attrs.get("lang") == other for r in table.find_all("tr")[1:])
    region = doc.find(id="fact-merchant.region")
    assert [a.attrs["href"] for a in region.find_all("a")] == [
        "glossary.html#enum-region", "policies/fixture.dictionary.html",
        "policies/fixture.dictionary.html#rule-high_fee"]
    vip = doc.find(id="fact-shop.vip")
    assert [a.attrs["href"] for a in vip.find_all("a")] == [
        "policies/fixture.deposit.html", "policies/fixture.deposit.html#rule-age_2023h2",
        "policies/fixture.deposit.html#rule-vip_exempt", "policies/fixture.dictionary.html",
        "policies/fixture.dictionary.html#rule-vip_orders"]
    assert doc.find(id="other-facts").find("div", cls="scroll").find("table", cls="dictionary")
    assert doc.find(id="entity-merchant").find("div", cls="scroll").find("table", cls="dictionary")
    toc = doc.find("nav", cls="toc")
    assert [a.attrs["href"] for a in toc.find_all("a")] == ["#entity-merchant", "#other-facts"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_page_has_anchors_and_links(fixture_root: Path, lang: str) -> None:
    text = page(fixture_root, lang, "md")
    for anchor in ("entity-merchant", "other-facts", "fact-merchant.region", "fact-merchant.joined_on",
                   "fact-shop.vip", "fact-probe.flag"):
        assert f'<a id="{anchor}"></a>' in text
    rule = {"zh": "高费率提示", "en": "High fee notice"}[lang]
    title = {"zh": "测试数据字典", "en": "Test data dictionary"}[lang]
    enum = {"zh": "地区", "en": "Region"}[lang]
    assert (f"| [{enum}](glossary.md#enum-region) | — | [{title}](policies/fixture.dictionary.md)"
            f"{'：' if lang == 'zh' else ': '}[{rule}](policies/fixture.dictionary.md#rule-high_fee) |") in text
    assert {"zh": "| 日期 | — | 尚无政策读取 |", "en": "| date | — | not read by any policy yet |"}[lang] in text
    assert "](policies/fixture.deposit.md#rule-vip_exempt)<br>[" in text  # one policy per line
    assert "\\<b onmouseover=alert(3)\\>" in text and re.search(r"(?<!\\)<b onmouseover", text) is None


def test_policy_text_is_escaped_on_the_dictionary_page(fixture_root: Path) -> None:
    for lang in ("zh", "en"):
        raw = page(fixture_root, lang, "html")
        assert "<b onmouseover" not in raw and "<script>alert" not in raw
        assert "&lt;b onmouseover=alert(3)&gt;" in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_dictionary_is_linked_from_the_navigation_index_policy_pages_and_glossary(fixture_root: Path,
                                                                                       lang: str) -> None:
    label = {"zh": "数据字典", "en": "Data dictionary"}[lang]
    index = parse_html(page(fixture_root, lang, "html", "index"))
    assert [squash(a.text()) for a in index.find("nav", cls="site-nav").find_all("a")
            if a.attrs["href"] == "dictionary.html"] == [label]
    assert [squash(a.text()) for a in index.find(id="main").find_all("a") if a.attrs["href"] == "dictionary.html"] \
        == [label]
    assert f"[{label}](dictionary.md)" in page(fixture_root, lang, "md", "index")
    policy = parse_html(page(fixture_root, lang, "html", "policies/fixture.deposit"))
    links = [(a.attrs["href"], a.text()) for a in policy.find(id="inputs").find_all("a")]
    assert ("../dictionary.html#fact-shop.age", "shop.age") in links
    assert ("../dictionary.html#fact-account.id", "account.id") in links
    assert "[`shop.age`](../dictionary.md#fact-shop.age)" in page(fixture_root, lang, "md", "policies/fixture.deposit")
    glossary = parse_html(page(fixture_root, lang, "html", "glossary"))
    facts = table_rows(glossary.find_all("table")[-2])
    none = "—"
    assert ["merchant.joined_on", "入驻日期", "Joined on", {"zh": "输入事实", "en": "Input fact"}[lang], none] in facts
    hrefs = [a.attrs["href"] for a in glossary.find_all("a") if a.attrs.get("href", "").startswith("dictionary.html")]
    assert "dictionary.html#fact-merchant.joined_on" in hrefs and "dictionary.html#fact-shop.vip" in hrefs


def test_search_finds_facts_at_their_dictionary_rows(fixture_root: Path) -> None:
    for lang, kind, title in (("zh", "事实", "订单数 — 商家"), ("en", "Fact", "Orders — Merchant")):
        text = (fixture_root / "out" / lang / "html" / "assets" / "search-index.js").read_text(encoding="utf-8")
        found = json.loads(text[len("window.POLICYDSL_SEARCH = "):-2])
        facts = [r for r in found if r[0].startswith("dictionary.html#fact-")]
        assert [r[0] for r in facts] == [f"dictionary.html#fact-{p}" for p in (
            "merchant.region", "merchant.rating", "merchant.orders", "merchant.deposit", "merchant.joined_on",
            "account.id", "probe.flag", "shop.age", "shop.category", "shop.subject", "shop.vip")]
        orders = next(r for r in facts if r[0] == "dictionary.html#fact-merchant.orders")
        assert orders[1:3] == [kind, title]
        assert orders[3].startswith("merchant.orders ")
        entities = [r for r in found if r[0].startswith("dictionary.html#entity-")]
        assert [r[0] for r in entities] == ["dictionary.html#entity-merchant"]
        terms = [r for r in found if r[0] == "glossary.html#facts"]  # computed values stay in the glossary
        assert sorted(r[3].split()[0] for r in terms) == ["deposit.due", "fee.high", "fee.rate", "min_age",
                                                          "rollout.on"]


def test_the_real_handbook_has_the_dictionary(repo_root: Path) -> None:
    """The committed handbook (kept fresh by `policydsl docs --check`) has a row for every fact and links each
    fact id of a policy's inputs table to it."""
    model = load(POLICIES).model
    for lang in ("zh", "en"):
        text = (repo_root / "generated_docs" / lang / "html" / "dictionary.html").read_text(encoding="utf-8")
        ids = set(re.findall(r'<tr id="fact-([^"]+)">', text))
        assert ids == set(model.facts) | {p for x in model.policies.values() for p in x.inputs}
        policy = (repo_root / "generated_docs" / lang / "html" / "policies" / "cart.opening.html").read_text("utf-8")
        assert '<a href="../dictionary.html#fact-account.kind"><code>account.kind</code></a>' in policy
