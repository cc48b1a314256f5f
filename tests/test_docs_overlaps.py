"""Overlaps and book properties in the handbook of the real rule book (policies/): the index's
"文档之间的冲突 / Conflicts between documents" section (each declared overlap with its two policies, the
question's scope and what agreement means in plain language, the resolution and the assumptions that
explain it, linked to the policy pages), book properties in plain language with their code underneath,
and the short "Conflicts" line on the pages of the overlap's two policies; in both languages and formats.
"""
from __future__ import annotations

import pytest

from policydsl import docs as handbook
from policydsl.docs.prose import BookRenderer, plain
from policydsl.loader import load

from conftest import POLICIES, ROOT
from test_docs_support import parse_html, squash


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    book = load(str(POLICIES))
    return dict(handbook.render(book, features=ROOT / "features", policies_dir=POLICIES))


def html(files: dict[str, str], lang: str, page: str = "index"):
    return parse_html(files[f"{lang}/html/{page}.html"])


def clauses(article) -> list[tuple[str, str]]:
    """The (dt, dd) pairs of an article's clause list, squashed."""
    items = [n for n in article.find("dl").children if not isinstance(n, str)]
    return [(squash(dt.text()), squash(dd.text())) for dt, dd in zip(items[::2], items[1::2])]


def clip(text: str, length: int = 60) -> str:
    return text[:length]


OTC = {
    "zh": [("涉及的政策", "商品审核标准与禁售类目、商品上架备案批准"),
           ("问题范围", "商品审核类目为 药品类OTC产品 且 商品类目（是否特定类目）为 药品"),
           ("一致的含义", "两条政策的决定相同"),
           ("处理", "以「商品审核标准与禁售类目」为准"),
           ("理由", "假设 otc_ban_prevails（商品审核标准与禁售类目）：000 把“药品类OTC产品”列为“绝对禁止类目”，003 说药品等特定")],
    "en": [("Policies", "Product audit standards and prohibited categories, Product listing approval"),
           ("The question's scope", "Product audit category is OTC drug products and Product class (special or not) "
                                    "is Drugs"),
           ("Agreement means", "the two decisions are the same"),
           ("Resolution", "“Product audit standards and prohibited categories” prevails"),
           ("Why", "Assumption otc_ban_prevails (Product audit standards and prohibited categories): 000 lists “OTC d")],
}
DEPOSIT = {
    "zh": [("涉及的政策", "商品审核标准与禁售类目、抖音小店保证金"),
           ("问题范围", "两条政策同时生效并适用的每条记录"),
           ("一致的含义", "「抖音小店保证金」的应缴保证金不少于 「商品审核标准与禁售类目」的保证金金额（起）"),
           ("处理", "已知冲突"),
           ("理由", "假设 deposit_floor_conflict（商品审核标准与禁售类目）：000 的商品审核表给出“普通商品 | 质检报告+品牌授权 | 2")],
    "en": [("Policies", "Product audit standards and prohibited categories, Douyin shop deposit"),
           ("The question's scope", "every record on which both policies are in force and apply"),
           ("Agreement means", "Deposit due of “Douyin shop deposit” is at least Minimum deposit of “Product audit "
                               "standards and prohibited categories”"),
           ("Resolution", "known conflict"),
           ("Why", "Assumption deposit_floor_conflict (Product audit standards and prohibited categories): 000's prod")],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_index_lists_each_declared_overlap_in_plain_language(files, lang) -> None:
    page = html(files, lang)
    assert squash(page.find("h2", id="overlaps").text()) == {"zh": "文档之间的冲突", "en": "Conflicts between documents"}[lang]
    assert [a.attrs["id"] for a in page.find_all("article", cls="overlap")] == [
        "overlap-otc_drug_listing", "overlap-deposit_floor_and_standard", "overlap-deposit_due",
        "overlap-legacy_entry_and_cart"]
    for anchor, expected in (("overlap-otc_drug_listing", OTC), ("overlap-deposit_floor_and_standard", DEPOSIT)):
        got = clauses(page.find("article", id=anchor))
        assert [(dt, clip(dd, len(want))) for (dt, dd), (_, want) in zip(got, expected[lang])] == expected[lang]
        assert len(got) == len(expected[lang])
    heading = squash(page.find("article", id="overlap-otc_drug_listing").find("h3").text())
    assert heading == {"zh": "药品类OTC产品能否上架 otc_drug_listing", "en": "May an OTC drug product be listed? otc_drug_listing"}[lang]
    toc = [squash(a.text()) for a in page.find("nav", cls="toc").find_all("a")]
    assert {"zh": "文档之间的冲突", "en": "Conflicts between documents"}[lang] in toc


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_resolution_and_its_assumption_link_to_the_policy_pages(files, lang) -> None:
    article = html(files, lang).find("article", id="overlap-otc_drug_listing")
    hrefs = [a.attrs["href"] for a in article.find_all("a")]
    assert "policies/product.audit.html#overview" in hrefs  # "以「商品审核…」为准"
    assert "policies/product.audit.html#assume-otc_ban_prevails" in hrefs
    assert "dictionary.html#fact-product.category" in hrefs
    target = html(files, lang, "policies/product.audit")
    assert target.find(id="assume-otc_ban_prevails").tag == "div"
    deposit = html(files, lang).find("article", id="overlap-deposit_floor_and_standard")
    assert "policies/shop.deposit.html#define-shop.deposit" in [a.attrs["href"] for a in deposit.find_all("a")]


MD_OTC = {
    "zh": ["- 涉及的政策：[商品审核标准与禁售类目](policies/product.audit.md)、[商品上架备案批准](policies/listing.approval.md)",
           "- 一致的含义：两条政策的决定相同",
           "- 处理：以「[商品审核标准与禁售类目](policies/product.audit.md#overview)」为准"],
    "en": ["- Policies: [Product audit standards and prohibited categories](policies/product.audit.md), "
           "[Product listing approval](policies/listing.approval.md)",
           "- Agreement means: the two decisions are the same",
           "- Resolution: “[Product audit standards and prohibited categories](policies/product.audit.md#overview)” "
           "prevails"],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_markdown_index_has_the_same_section(files, lang) -> None:
    text = files[f"{lang}/md/index.md"]
    section = text[text.index('<a id="overlap-otc_drug_listing"></a>'):text.index('<a id="overlap-deposit_floor_and_standard"></a>')]
    lines = section.splitlines()
    for line in MD_OTC[lang]:
        assert line in lines
    known = text[text.index('<a id="overlap-deposit_floor_and_standard"></a>'):text.index('<a id="overlap-deposit_due"></a>')]
    assert {"zh": "- 处理：已知冲突", "en": "- Resolution: known conflict"}[lang] in known.splitlines()
    assert {"zh": "## 文档之间的冲突", "en": "## Conflicts between documents"}[lang] in text.splitlines()


LOW_FANS = {
    "zh": "对每一组事实与每一天，只要账号类型为 个人账号 且 粉丝数少于 1000 人，就有：「抖音购物车开通资格」的决定为拒绝 且 "
          "「抖音购物车开通资格」的规则「粉丝数门槛（2023，个人与个体工商户）」触发",
    "en": "For every set of facts and every day where Account type is Personal account and Followers is less than 1,000 "
          "followers: the decision of “Douyin shopping cart opening” is deny and rule “Follower threshold (2023, "
          "personal and individual business)” of “Douyin shopping cart opening” fires",
}
LOW_FANS_CODE = ("when account.kind == personal and account.fans < 1000 expect outcome(cart.opening) == deny and "
                 "fires(cart.opening, fans_2023)")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_book_property_reads_in_plain_language_with_its_code(files, lang) -> None:
    article = html(files, lang).find("article", id="book-property-low_fans_no_cart")
    statement = dict(clauses(article))[{"zh": "断言", "en": "Statement"}[lang]]
    assert statement == LOW_FANS[lang] + LOW_FANS_CODE  # the prose, then the code on a line of its own
    assert squash(article.find("small").text()) == LOW_FANS_CODE
    hrefs = [a.attrs["href"] for a in article.find_all("a")]
    assert "policies/cart.opening.html#rule-fans_2023" in hrefs and "dictionary.html#fact-account.fans" in hrefs
    md = files[f"{lang}/md/index.md"]
    assert f"  `{LOW_FANS_CODE}`" in md.splitlines()


CONFLICTS = {
    "zh": ("文档冲突", "与「商品审核标准与禁售类目」的冲突见「保证金：商品审核的起点与开店的标准」；"
                   "与「阶梯式保证金」的冲突见「应缴保证金：按阶段与按主体和类目」"),
    "en": ("Conflicts", "Conflicts with “Product audit standards and prohibited categories”: see “The deposit: the "
                        "product audit floor and the shop standard”; Conflicts with “Tiered deposit by business "
                        "stage”: see “The deposit due: by business stage, and by subject and category”"),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_policy_of_an_overlap_points_to_the_index(files, lang) -> None:
    overview = html(files, lang, "policies/shop.deposit").find("section", id="overview")
    label, line = CONFLICTS[lang]
    assert (label, line) in clauses(overview)
    hrefs = [a.attrs["href"] for a in overview.find_all("a")]
    assert "../index.html#overlap-deposit_floor_and_standard" in hrefs
    md = files[f"{lang}/md/policies/shop.deposit.md"]
    assert "(../index.md#overlap-deposit_due)" in md
    other = html(files, lang, "policies/settlement").find("section", id="overview")
    assert label not in [dt for dt, _ in clauses(other)]


CLAIMS = {
    "zh": ["「商品审核标准与禁售类目」与「商品上架备案批准」的决定相同",
           "「抖音小店保证金」的应缴保证金不少于 「商品审核标准与禁售类目」的保证金金额（起）",
           "「阶梯式保证金」的应缴保证金为 「抖音小店保证金」的应缴保证金",
           "「抖音小店入驻条件（早期）」与「抖音购物车开通资格」的决定相同"],
    "en": ["“Product audit standards and prohibited categories” and “Product listing approval” decide the same",
           "Deposit due of “Douyin shop deposit” is at least Minimum deposit of “Product audit standards and "
           "prohibited categories”",
           "Deposit required of “Tiered deposit by business stage” is Deposit due of “Douyin shop deposit”",
           "“Douyin shop entry conditions (legacy)” and “Douyin shopping cart opening” decide the same"],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_book_renderer_reads_each_overlaps_compiled_claim(lang) -> None:
    """`outcome(A) == outcome(B)` (an overlap without `agree`) and values computed by named policies."""
    model = load(str(POLICIES)).model
    prose = BookRenderer(model, lang)
    assert [plain(prose.expr(o.decl.claim)) for o in model.overlaps if not o.implicit] == CLAIMS[lang]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_search_index_finds_overlaps_and_book_properties(files, lang) -> None:
    index = files[f"{lang}/html/assets/search-index.js"]
    kind = {"zh": "文档冲突", "en": "Conflict between documents"}[lang]
    assert f'["index.html#overlap-otc_drug_listing","{kind}",' in index
    assert '["index.html#book-property-low_fans_no_cart",' in index
