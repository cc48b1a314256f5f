"""Support for the handbook tests (no tests here): a small rule book written into a temporary folder, and
an HTML reader that turns a page into a tree the tests can query with exact assertions."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import attrs

FIXTURE_POLICY = '''\
# A small rule book for the handbook's tests: a range table, a matrix table with not_open and
# not_stated cells, a rollout, assumptions, supersession, an exception and properties.
unit day "天" / "days"

enum subject "开店主体" / "Shop subject"
  value personal "个人" / "Personal"
  value company "企业" / "Company"

enum category "类目" / "Category"
  value apparel "服饰" / "Apparel"
  value jewellery "珠宝" / "Jewellery"

policy fixture.deposit
  title "测试保证金" / "Test deposit"
  implements R900.1, R900.2
  source "900_fixture.txt" quote "保证金按主体与类目缴纳"
  effective from 2023-01-01

input shop.subject: subject "开店主体" / "Shop subject"
input shop.category: category "经营类目" / "Category"
input shop.age: count "开店天数" / "Shop age" unit day
input shop.vip: bool "白名单商家" / "Allow-listed merchant"
input account.id: text "账号ID" / "Account id"

table deposit_grid(subject: subject, category: category) -> money "保证金标准" / "Deposit standard"
  columns apparel, jewellery
  row personal: ¥500, not_open
  row company: ¥2000, not_stated

table stage_ratio(age: count) -> percent "保证金比例" / "Deposit ratio"
  hit unique
  row [0, 90]: 50%
  row [91, 180]: 100%
  row (180, inf): 80%

define deposit.due: money "应缴保证金" / "Deposit due"
  = deposit_grid(shop.subject, shop.category) * stage_ratio(shop.age)
  source "900_fixture.txt" quote "保证金按比例缴纳"

define min_age: count "开店天数门槛" / "Minimum shop age" unit day
  = 30 from 2023-01-01 until 2023-06-30
  = 60 from 2023-07-01

rollout fixture_rollout "逐步放开" / "Gradual rollout"
  key account.id
  phase pilot "内测" / "Pilot" from 2023-03-01 until 2023-03-31 ramp 0% to 50%
  phase full "全面生效" / "Full" from 2023-04-01 until 2023-04-30 ramp 50% to 100%

define rollout.on: bool "已放开" / "Open to this account"
  = covered(fixture_rollout)

rule age_2023 "个人店铺需开店满 30 天" / "Personal shops must be 30 days old"
  implements R900.1
  effective from 2023-01-01 until 2023-06-30
  when shop.subject in {personal}
  require shop.age >= min_age
    else deny too_young "开店天数 {shop.age}，不足 {min_age}" / "Shop age {shop.age}, below {min_age}"
  source "900_fixture.txt" quote "个人店铺需开店满30天"

rule age_2023h2 "个人店铺需开店满 60 天" / "Personal shops must be 60 days old"
  implements R900.1
  effective from 2023-07-01
  supersedes age_2023
  when shop.subject == personal and not shop.vip
  require shop.age >= min_age
    else deny too_young "开店天数 {shop.age}，不足 {min_age}" / "Shop age {shop.age}, below {min_age}"
  source "900_fixture.txt" quote "下半年起需满60天"

rule vip_exempt "白名单商家除外" / "Allow-listed merchants are exempt"
  implements R900.2
  exception to age_2023 priority 1
  when shop.vip
  allow vip_exempt "白名单商家不受开店天数限制" / "Allow-listed merchants have no shop-age limit"
  source "900_fixture.txt" quote "白名单商家除外"

property young_personal_denied "上半年开店不足 30 天的个人店铺一律拒绝" / "In the first half of 2023 a personal shop under 30 days old is denied"
  effective from 2023-01-01 until 2023-06-30
  when shop.subject == personal and shop.category == apparel and not shop.vip and shop.age < min_age
  expect outcome == deny and fires(age_2023) and not fires(vip_exempt)

property vip_never_too_young "白名单商家从不因开店天数被拒绝" / "An allow-listed merchant is never turned down for its shop age"
  when shop.category == apparel and shop.vip
  expect outcome != deny and not fires(age_2023) and fires(age_2023h2) == false

property h2_denied_exactly_when_young "下半年起，个人店铺恰在开店天数不足时被拒绝" / "From July, a personal shop is denied exactly when it is too young"
  effective from 2023-07-01
  when shop.subject == personal and shop.category == apparel
  expect (outcome == deny) == (not shop.vip and shop.age < min_age)

assume ratio_80 "品牌期比例取 80%，原文只写“八成”。" / "The brand-period ratio is taken as 80%; the text says “eight tenths”."
  about stage_ratio, age_2023
  source "900_fixture.txt" quote "品牌期按八成缴纳"

note fixture_note "本说明不作评估。" / "This note is not evaluated."
  about R900.2
  source "900_fixture.txt" quote "仅供参考"
'''

# Every text a reader sees tries to break out of its context: the handbook must show it as text.
XSS_POLICY = '''\
policy xss.probe
  title "<script>alert(1)</script>" / "<script>alert(1)</script>"
  implements R901.1
  source "901_probe.txt" quote "<img src=x onerror=alert(2)>"

input probe.flag: bool "<b onmouseover=alert(3)>标记</b>" / "<b onmouseover=alert(3)>flag</b>"

rule probe "</span><script>alert(4)</script>" / "\\"><svg onload=alert(5)>"
  implements R901.1
  require probe.flag
    else deny probe_failed "<script>alert(6)</script>" / "<script>alert(6)</script>"
  source "901_probe.txt" quote "<script>alert(7)</script>"

property probe_claim "<script>alert(8)</script>" / "<img src=x onerror=alert(9)>"
  when not probe.flag
  expect outcome == deny and fires(probe)
'''

# The data dictionary's part of the book: a vocabulary of one entity whose facts are read in every way a
# rule can read one (a condition, a requirement, a message, through two values in turn), by a property
# only, or by nothing at all; and a policy that declares shop.vip itself, as fixture.deposit does, under
# other names.
VOCABULARY_POLICY = '''\
unit order "单" / "orders"

enum region "地区" / "Region"
  value mainland "中国大陆" / "Mainland China"
  value overseas "境外" / "Overseas"

entity merchant "商家" / "Merchant"
  fact region: region "所在地区" / "Region"
  fact rating: number "商家评分" / "Merchant rating"
  fact orders: count "订单数" / "Orders" unit order
  fact deposit: money "已缴保证金" / "Deposit paid"
  fact joined_on: date "入驻日期" / "Joined on"
'''

DICTIONARY_POLICY = '''\
policy fixture.dictionary
  title "测试数据字典" / "Test data dictionary"

input shop.vip: bool "白名单" / "Allow-listed"

define fee.rate: percent "费率" / "Fee rate"
  = 5% when merchant.region == overseas
  = 3%

define fee.high: bool "高费率" / "High fee rate"
  = fee.rate > 4%

rule rating_min "商家评分不低于 4 分" / "Merchant rating at least 4"
  require merchant.rating >= 4
    else deny rating_low "商家评分过低" / "Merchant rating too low"
  source "902_dictionary.txt" quote "商家评分须不低于4分"

rule high_fee "高费率提示" / "High fee notice"
  when fee.high
  warn high_fee "境外商家适用高费率" / "Overseas merchants pay the high fee rate"
  source "902_dictionary.txt" quote "境外商家适用高费率"

rule vip_orders "白名单商家的订单数" / "Orders of an allow-listed merchant"
  when shop.vip
  allow vip_orders "白名单商家，订单数 {merchant.orders}" / "Allow-listed, {merchant.orders} orders"
  source "902_dictionary.txt" quote "白名单商家列明订单数"

property top_rating_passes "评分为 5 分且已缴保证金的商家不会因评分被拒绝" / "A merchant rated 5 that paid a deposit is not turned down for its rating"
  when merchant.rating >= 5 and merchant.deposit > ¥0
  expect not fires(rating_min)
'''

FEATURE_ZH = '''\
# language: zh-CN
功能: 测试保证金

  @R900.1
  场景大纲: 个人店铺开店天数
    假如 开店主体 为 个人
    而且 经营类目 为 服饰
    而且 开店天数 为 <天数>
    而且 白名单商家 为 否
    而且 账号ID 为 "acct-1"
    当 在 2023-06-01 评估 "fixture.deposit"
    那么 结果为 "<结果>"

    例子:
      | 天数 | 结果 |
      | 29   | 拒绝 |
      | 120  | 允许 |
'''

FEATURE_EN = '''\
Feature: Test deposit (English)

  @R900.2
  Scenario: Allow-listed merchants are exempt
    Given the facts:
      | fact                  | value    |
      | Shop subject          | Personal |
      | Category              | Apparel  |
      | Shop age              | 10       |
      | Allow-listed merchant | yes      |
      | Account id            | acct-2   |
    When I evaluate "Test deposit" on 2023-08-01
    Then the outcome is "allow"
'''


def write_fixture(root: Path) -> Path:
    """The fixture rule book and its features under `root` (policies/, features/); returns `root`."""
    (root / "policies").mkdir(parents=True)
    (root / "features").mkdir()
    (root / "policies" / "fixture.policy").write_text(FIXTURE_POLICY, encoding="utf-8")
    (root / "policies" / "xss.policy").write_text(XSS_POLICY, encoding="utf-8")
    (root / "policies" / "vocabulary.policy").write_text(VOCABULARY_POLICY, encoding="utf-8")
    (root / "policies" / "dictionary.policy").write_text(DICTIONARY_POLICY, encoding="utf-8")
    (root / "features" / "fixture.zh.feature").write_text(FEATURE_ZH, encoding="utf-8")
    (root / "features" / "fixture.en.feature").write_text(FEATURE_EN, encoding="utf-8")
    return root


# ---------------------------------------------------------------- reading HTML
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@attrs.define
class Node:
    tag: str
    attrs: dict[str, str]
    children: list = attrs.field(factory=list)  # Node or str

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str | None = None, **match: str) -> list["Node"]:
        out = []
        for child in self.children:
            if isinstance(child, Node):
                classes = child.attrs.get("class", "").split()
                ok = (tag is None or child.tag == tag) and all(
                    (value in classes) if key == "cls" else child.attrs.get(key) == value
                    for key, value in match.items())
                if ok:
                    out.append(child)
                out.extend(child.find_all(tag, **match))
        return out

    def find(self, tag: str | None = None, **match: str) -> "Node":
        found = self.find_all(tag, **match)
        assert found, f"no <{tag}> matching {match}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attributes):
        node = Node(tag, {k: v or "" for k, v in attributes})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attributes):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attributes}))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def squash(text: str) -> str:
    return " ".join(text.split())


def table_rows(table: Node) -> list[list[str]]:
    return [[squash(cell.text()) for cell in row.children if isinstance(cell, Node) and cell.tag in ("th", "td")]
            for row in table.find_all("tr")]
