"""Properties in the handbook: the words of a property (`outcome == deny`, `fires(rule)`) in plain
language, and the "Properties (proved by policydsl verify)" section of a policy page in both languages
and both formats, with an anchor per property, links from `fires` to the rule, the search index and the
index page's count; a policy without properties shows no section.

The fixture rule book (test_docs_support.py) has three properties on fixture.deposit (one with a period,
one without, one an "exactly when") and one on xss.probe whose label tries to break out of the page.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl.cli import main
from policydsl.docs.prose import Renderer, plain
from policydsl.loader import load

from test_docs_support import XSS_POLICY, parse_html, squash, table_rows, write_fixture

PAGE = "policies/fixture.deposit"


def render(root: Path, out: Path) -> Path:
    result = CliRunner().invoke(main, ["docs", "--policies", str(root / "policies"), "--features",
                                       str(root / "features"), "--out", str(out)], env={"POLICYDSL_LANG": "en"})
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    root = write_fixture(tmp_path_factory.mktemp("props"))
    return render(root, root / "out")


def html(out: Path, lang: str, page: str = PAGE):
    return parse_html((out / lang / "html" / f"{page}.html").read_text(encoding="utf-8"))


def markdown(out: Path, lang: str, page: str = PAGE) -> str:
    return (out / lang / "md" / f"{page}.md").read_text(encoding="utf-8")


HEADING = {"zh": "性质（经 policydsl verify 证明）", "en": "Properties (proved by policydsl verify)"}
INTRO = {
    "zh": "policydsl verify 用可满足性模理论求解器证明下列每条性质：在其期间内的每一天、对每一组事实，只要前提成立，"
          "评估就不会出错，且断言成立；不成立时它给出反例。持续集成会运行这项证明。",
    "en": "policydsl verify proves each property below with an SMT solver, for every set of facts and every day of "
          "its period: wherever the premise holds, the decision succeeds without an evaluation error and the claim "
          "is true; where not, it shows a counterexample. CI runs it.",
}
PROPERTIES = {
    "zh": {
        "young_personal_denied": (
            "上半年开店不足 30 天的个人店铺一律拒绝 young_personal_denied",
            ["期间", "2023-01-01 至 2023-06-30", "断言",
             "对每一组事实与每一天，只要开店主体为 个人 且 经营类目为 服饰 且 白名单商家为 否 且 开店天数少于 "
             "开店天数门槛（30 天），就有：结果为拒绝 且 规则「个人店铺需开店满 30 天」触发 且 规则「白名单商家除外」未触发"]),
        "vip_never_too_young": (
            "白名单商家从不因开店天数被拒绝 vip_never_too_young",
            ["断言", "对每一组事实与每一天，只要经营类目为 服饰 且 白名单商家，就有：结果不为拒绝 且 "
                     "规则「个人店铺需开店满 30 天」未触发 且 规则「个人店铺需开店满 60 天」未触发"]),
        "h2_denied_exactly_when_young": (
            "下半年起，个人店铺恰在开店天数不足时被拒绝 h2_denied_exactly_when_young",
            ["期间", "2023-07-01 起", "断言",
             "对每一组事实与每一天，只要开店主体为 个人 且 经营类目为 服饰，就有：结果为拒绝，当且仅当白名单商家为 否 且 "
             "开店天数少于 开店天数门槛（60 天）"]),
    },
    "en": {
        "young_personal_denied": (
            "In the first half of 2023 a personal shop under 30 days old is denied young_personal_denied",
            ["Period", "2023-01-01 to 2023-06-30", "Statement",
             "For every set of facts and every day where Shop subject is Personal and Category is Apparel and "
             "Allow-listed merchant is no and Shop age is less than Minimum shop age (30 days): the decision is deny "
             "and rule “Personal shops must be 30 days old” fires and rule “Allow-listed merchants are exempt” does "
             "not fire"]),
        "vip_never_too_young": (
            "An allow-listed merchant is never turned down for its shop age vip_never_too_young",
            ["Statement", "For every set of facts and every day where Category is Apparel and Allow-listed merchant: "
                          "the decision is not deny and rule “Personal shops must be 30 days old” does not fire and "
                          "rule “Personal shops must be 60 days old” does not fire"]),
        "h2_denied_exactly_when_young": (
            "From July, a personal shop is denied exactly when it is too young h2_denied_exactly_when_young",
            ["Period", "from 2023-07-01", "Statement",
             "For every set of facts and every day where Shop subject is Personal and Category is Apparel: the "
             "decision is deny exactly when Allow-listed merchant is no and Shop age is less than Minimum shop age "
             "(60 days)"]),
    },
}


# ---------------------------------------------------------------- the section on the page
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_section_states_every_property_in_plain_language(book: Path, lang: str) -> None:
    page = html(book, lang)
    h2s = [squash(h.text()) for h in page.find("main").find_all("h2")]
    assert h2s[h2s.index({"zh": "规则", "en": "Rules"}[lang]) + 1] == HEADING[lang]  # right after the rules
    section = page.find("section", id="properties")
    assert squash(section.find("h2").text()) == HEADING[lang]
    assert [c.text() for c in section.find("h2").find_all("code")] == ["policydsl verify"]
    assert squash(section.find("p", cls="lead").text()) == INTRO[lang]
    articles = section.find_all("article", cls="property")
    assert [a.attrs["id"] for a in articles] == [f"property-{name}" for name in PROPERTIES[lang]]
    for article, (name, (title, clauses)) in zip(articles, PROPERTIES[lang].items()):
        assert squash(article.find("h3").text()) == title
        dl = article.find("dl")
        assert [squash(n.text()) for n in dl.children if not isinstance(n, str)] == clauses
    toc = [(a.attrs["href"], squash(a.text())) for a in page.find("nav", cls="toc").find_all("a")]
    assert toc[toc.index(("#rules", {"zh": "规则", "en": "Rules"}[lang])) + 1] == \
        ("#properties", {"zh": "性质", "en": "Properties"}[lang])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_section_states_every_property_in_plain_language(book: Path, lang: str) -> None:
    text = markdown(book, lang)
    section = text[text.index('<a id="properties"></a>'):text.index('<a id="tables"></a>')]
    assert text.index('<a id="rules"></a>') < text.index('<a id="properties"></a>')
    colon = {"zh": "：", "en": ": "}[lang]
    expected = [f'<a id="properties"></a>\n## {HEADING[lang].replace("policydsl verify", "`policydsl verify`")}',
                INTRO[lang].replace("policydsl verify", "`policydsl verify`", 1)]
    for name, (title, clauses) in PROPERTIES[lang].items():
        label = title[:-len(name) - 1]
        items = "\n".join(f"- {clauses[i]}{colon}{clauses[i + 1]}" for i in range(0, len(clauses), 2))
        expected.append(f'<a id="property-{name}"></a>\n### {label} `{name}`\n\n{items}')
    assert section == "\n\n".join(expected) + "\n\n"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fires_links_to_the_rule_and_outcome_is_a_value(book: Path, lang: str) -> None:
    page = html(book, lang)
    ids = {n.attrs["id"] for n in page.find_all() if "id" in n.attrs}
    dd = page.find(id="property-young_personal_denied").find_all("dd")[-1]
    links = [(a.attrs["href"], a.text()) for a in dd.find_all("a", cls="term")]
    labels = {"zh": ("个人店铺需开店满 30 天", "白名单商家除外"),
              "en": ("Personal shops must be 30 days old", "Allow-listed merchants are exempt")}[lang]
    assert links[-2:] == [("#rule-age_2023", labels[0]), ("#rule-vip_exempt", labels[1])]
    for href, _ in links:
        assert href[1:] in ids  # every term of a property names an element of the page
    assert page.find(id="rule-age_2023").tag == "article"
    assert [v.text() for v in dd.find_all("span", cls="value")][-1] == {"zh": "拒绝", "en": "deny"}[lang]


def test_property_text_is_escaped(book: Path) -> None:
    for lang, label in (("zh", "<script>alert(8)</script>"), ("en", "<img src=x onerror=alert(9)>")):
        raw = (book / lang / "html" / "policies" / "xss.probe.html").read_text(encoding="utf-8")
        assert label not in raw and "<svg onload" not in raw and "</span><script>" not in raw
        article = parse_html(raw).find("article", id="property-probe_claim")
        assert squash(article.find("h3").text()) == f"{label} probe_claim"
        rule = article.find("a", href="#rule-probe")
        assert rule.text() == {"zh": "</span><script>alert(4)</script>", "en": '"><svg onload=alert(5)>'}[lang]
        text = markdown(book, lang, "policies/xss.probe")
        prose, _, _ = text.partition('<a id="source"></a>')
        section = prose[prose.index('<a id="properties"></a>'):]
        assert re.search(r"(?<!\\)<(?:script|img|b\s|svg|/span)", section) is None  # every < is escaped: \<
    assert "### \\<img src=x onerror=alert(9)\\> `probe_claim`" in markdown(book, "en", "policies/xss.probe")
    assert "- 断言：对每一组事实与每一天，只要\\<b onmouseover=alert(3)\\>标记\\</b\\>为 否，就有：结果为拒绝 且 " \
           "规则「\\</span\\>\\<script\\>alert(4)\\</script\\>」触发\n" in markdown(book, "zh", "policies/xss.probe")


def test_a_policy_without_properties_has_no_section(tmp_path: Path) -> None:
    root = write_fixture(tmp_path)
    probe = XSS_POLICY[:XSS_POLICY.index("property probe_claim")].rstrip("\n") + "\n"
    (root / "policies" / "xss.policy").write_text(probe, encoding="utf-8")
    out = render(root, root / "out")
    for lang in ("zh", "en"):
        raw = (out / lang / "html" / "policies" / "xss.probe.html").read_text(encoding="utf-8")
        assert 'id="properties"' not in raw and "#properties" not in raw and "policydsl verify" not in raw
        text = markdown(out, lang, "policies/xss.probe")
        assert '<a id="properties"></a>' not in text and "policydsl verify" not in text
        assert html(out, lang).find("section", id="properties")  # the other policy keeps its section


# ---------------------------------------------------------------- search index and the index page
def test_properties_are_in_the_search_index(book: Path) -> None:
    for lang, kind, title in (("zh", "性质", "白名单商家从不因开店天数被拒绝 — 测试保证金"),
                              ("en", "Property", "An allow-listed merchant is never turned down for its shop age — "
                                                 "Test deposit")):
        text = (book / lang / "html" / "assets" / "search-index.js").read_text(encoding="utf-8")
        rows = json.loads(text[len("window.POLICYDSL_SEARCH = "):-2])
        found = [r for r in rows if r[1] == kind]
        assert [r[0] for r in found] == [f"{PAGE}.html#property-{n}" for n in PROPERTIES[lang]] + [
            "policies/fixture.dictionary.html#property-top_rating_passes",
            "policies/xss.probe.html#property-probe_claim"]
        row = next(r for r in found if r[0].endswith("#property-vip_never_too_young"))
        assert row[2] == title
        assert row[3] == "vip_never_too_young " + PROPERTIES[lang]["vip_never_too_young"][1][1]
        dated = next(r for r in found if r[0].endswith("#property-young_personal_denied"))
        assert dated[3].startswith("young_personal_denied " + PROPERTIES[lang]["young_personal_denied"][1][1] + " ")


def test_the_index_counts_properties_and_links_to_them(book: Path) -> None:
    page = html(book, "en", "index")
    rows = [table_rows(t) for t in page.find("main").find_all("table")]
    assert [r[0][-2:] for r in rows] == [["Rules", "Properties"]] * 2
    assert [r[1][-2:] for r in rows] == [["3", "3"], ["1", "1"]]
    assert page.find("a", href="policies/fixture.deposit.html#properties").text() == "3"
    text = markdown(book, "zh", "index")
    assert "| 规则数 | 性质数 |\n|---|---|---|---|---|---|\n" in text
    assert "| 3 | [3](policies/fixture.deposit.md#properties) |\n" in text


# ---------------------------------------------------------------- the expression renderer
PROSE_POLICY = '''\
policy prose.words
  title "措辞" / "Wording"

input a.flag: bool "甲" / "Flag A"
input b.flag: bool "乙" / "Flag B"

rule r1 "规则一" / "Rule one"
  require a.flag
    else deny no_a "缺甲" / "No A"
  source "902_words.txt" quote "须有甲"

property p "性质" / "Property"
  expect outcome == deny
'''

CLAIMS = [  # claim -> (zh, en)
    ("outcome == deny", "结果为拒绝", "the decision is deny"),
    ("outcome == allow", "结果为允许", "the decision is allow"),
    ("outcome != allow", "结果不为允许", "the decision is not allow"),
    ("deny == outcome", "结果为拒绝", "the decision is deny"),
    ("not (outcome == deny)", "结果不为拒绝", "the decision is not deny"),
    ("fires(r1)", "规则「规则一」触发", "rule “Rule one” fires"),
    ("not fires(r1)", "规则「规则一」未触发", "rule “Rule one” does not fire"),
    ("fires(r1) == false", "规则「规则一」未触发", "rule “Rule one” does not fire"),
    ("fires(r1) != false", "规则「规则一」触发", "rule “Rule one” fires"),
    ("true == fires(r1)", "规则「规则一」触发", "rule “Rule one” fires"),
    ("fires(r1) == (a.flag and b.flag)", "规则「规则一」触发，当且仅当甲 且 乙", "rule “Rule one” fires exactly when Flag A and Flag B"),
    ("fires(r1) != a.flag", "规则「规则一」触发，当且仅当甲不成立", "rule “Rule one” fires exactly when Flag A does not hold"),
    ("(fires(r1) == a.flag) and outcome == allow", "（规则「规则一」触发，当且仅当甲） 且 结果为允许",
     "(rule “Rule one” fires exactly when Flag A) and the decision is allow"),
    ("a.flag == true", "甲为 是", "Flag A is yes"),  # an ordinary yes/no fact keeps its wording
]


@pytest.mark.parametrize("claim, zh, en", CLAIMS, ids=[c[0] for c in CLAIMS])
def test_the_words_of_a_property_in_plain_language(tmp_path: Path, claim: str, zh: str, en: str) -> None:
    (tmp_path / "prose.policy").write_text(PROSE_POLICY.replace("outcome == deny", claim), encoding="utf-8")
    book = load(tmp_path)
    policy = book.model.policies["prose.words"]
    for lang, want in (("zh", zh), ("en", en)):
        prose = Renderer(book.model, policy, lang).expr(policy.properties[0].claim)
        assert plain(prose) == want
        assert all(seg.role != "code" for seg in prose)  # nothing falls back to source text
        rules = [seg for seg in prose if seg.href.startswith("rule-")]
        assert [(s.text, s.role, s.href) for s in rules] == \
            [({"zh": "规则一", "en": "Rule one"}[lang], "term", "rule-r1")] * ("fires" in claim)
