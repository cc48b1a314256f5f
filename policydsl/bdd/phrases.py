"""The step phrase table: every step in Chinese and English, as regular expressions over one meaning.

The README and the handbook render this table; steps.py registers one step per row and language.
"""
from __future__ import annotations

import attrs

from policydsl import i18n


@attrs.frozen(kw_only=True)
class Phrase:
    key: str
    kind: str  # given | when | then
    zh: str  # regex
    en: str  # regex
    example_zh: str
    example_en: str
    doc_zh: str
    doc_en: str


PHRASES: tuple[Phrase, ...] = (
    Phrase(key="fact", kind="given", zh=r"(?P<name>.+?) 为 (?P<value>.+)", en=r"(?P<name>.+?) is (?P<value>.+)",
           example_zh="假如 粉丝数 为 999", example_en="Given 粉丝数 is 999",
           doc_zh="设定一个事实；事实可用编号或中英文标签，枚举值可用编号或标签",
           doc_en="set one fact, named by id or either label; enum values by id or label"),
    Phrase(key="facts_table", kind="given", zh=r"以下事实[：:]?", en=r"the facts:?",
           example_zh="假如 以下事实：", example_en="Given the facts:",
           doc_zh="下接两列数据表（事实、值），一次设定多个事实", doc_en="followed by a two-column data table (fact, value): set several facts"),
    Phrase(key="evaluate_on", kind="when", zh=r"在 (?P<date>\d{4}-\d{2}-\d{2}) 评估 \"(?P<policy>[^\"]+)\"",
           en=r"I evaluate \"(?P<policy>[^\"]+)\" on (?P<date>\d{4}-\d{2}-\d{2})",
           example_zh="当 在 2023-12-20 评估 \"cart.opening\"", example_en="When I evaluate \"cart.opening\" on 2023-12-20",
           doc_zh="在某日评估政策（编号或标题）", doc_en="evaluate a policy (by id or title) on a date"),
    Phrase(key="evaluate_book", kind="when", zh=r"在 (?P<date>\d{4}-\d{2}-\d{2}) 评估整本规则书",
           en=r"I evaluate the whole book on (?P<date>\d{4}-\d{2}-\d{2})",
           example_zh="当 在 2023-12-20 评估整本规则书", example_en="When I evaluate the whole book on 2023-12-20",
           doc_zh="在某日对这条记录评估整本规则书：每条生效且适用的政策各得一个决策；事实按整本书的词汇表读取",
           doc_en="decide every policy in force that applies to the record on a date; facts are read by the book's vocabulary"),
    Phrase(key="book_outcome", kind="then", zh=r"整本规则书的结果为 \"(?P<outcome>[^\"]+)\"",
           en=r"the whole book's outcome is \"(?P<outcome>[^\"]+)\"",
           example_zh="那么 整本规则书的结果为 \"拒绝\"", example_en="Then the whole book's outcome is \"deny\"",
           doc_zh="整本规则书的结果：有政策拒绝即拒绝；都允许即允许；否则“无法完全决定”",
           doc_en="the whole book's outcome: deny if a policy denies, allow if all allow, else undecided"),
    Phrase(key="book_part", kind="then", zh=r"其中 \"(?P<policy>[^\"]+)\" 的部分",
           en=r"the part of \"(?P<policy>[^\"]+)\"",
           example_zh="而且 其中 \"cart.opening\" 的部分", example_en="And the part of \"cart.opening\"",
           doc_zh="转而检查整本评估中这条政策（编号或标题）的决策：之后的“结果为”“原因包含”等步骤都针对它",
           doc_en="check one policy's (by id or title) part of the whole-book decision: the steps after it (outcome, "
                  "reasons, values) are about that part"),
    Phrase(key="not_applicable", kind="then", zh=r"\"(?P<policy>[^\"]+)\" 不适用",
           en=r"\"(?P<policy>[^\"]+)\" does not apply",
           example_zh="那么 \"enterprise.onboarding\" 不适用", example_en="Then \"enterprise.onboarding\" does not apply",
           doc_zh="整本评估中这条政策的 applies when 对该记录不成立", doc_en="the policy's `applies when` does not hold for the record"),
    Phrase(key="not_in_force", kind="then", zh=r"\"(?P<policy>[^\"]+)\" 未生效",
           en=r"\"(?P<policy>[^\"]+)\" is not in force",
           example_zh="那么 \"shop.entry_legacy\" 未生效", example_en="Then \"shop.entry_legacy\" is not in force",
           doc_zh="整本评估的日期不在这条政策的生效期内", doc_en="the whole-book date is outside the policy's period"),
    Phrase(key="conflict", kind="then", zh=r"冲突 \"(?P<overlap>[^\"]+)\" 以 \"(?P<policy>[^\"]+)\" 为准",
           en=r"the conflict \"(?P<overlap>[^\"]+)\" is settled in favour of \"(?P<policy>[^\"]+)\"",
           example_zh="那么 冲突 \"otc_drug_listing\" 以 \"product.audit\" 为准",
           example_en="Then the conflict \"otc_drug_listing\" is settled in favour of \"product.audit\"",
           doc_zh="整本评估列出这处冲突（overlap 的编号或标题：两条政策对这条记录的决定不一致），并以这条政策为准",
           doc_en="the whole-book decision lists this conflict (an overlap's id or title: its two policies disagree on "
                  "the record), settled in favour of this policy"),
    Phrase(key="known_conflict", kind="then", zh=r"冲突 \"(?P<overlap>[^\"]+)\" 为已知冲突",
           en=r"the conflict \"(?P<overlap>[^\"]+)\" is a known conflict",
           example_zh="那么 冲突 \"deposit_floor_and_standard\" 为已知冲突",
           example_en="Then the conflict \"deposit_floor_and_standard\" is a known conflict",
           doc_zh="整本评估列出这处冲突，它是文档本身无法决定、保留下来的已知冲突",
           doc_en="the whole-book decision lists this conflict, a known one the documents cannot settle"),
    Phrase(key="no_conflicts", kind="then", zh=r"没有冲突", en=r"there are no conflicts",
           example_zh="那么 没有冲突", example_en="Then there are no conflicts",
           doc_zh="整本评估中，没有两条回答同一问题的政策对这条记录的决定不一致",
           doc_en="in the whole-book decision, no two policies answering one question disagree on the record"),
    Phrase(key="outcome", kind="then", zh=r"结果为 \"(?P<outcome>[^\"]+)\"", en=r"the outcome is \"(?P<outcome>[^\"]+)\"",
           example_zh="那么 结果为 \"拒绝\"", example_en="Then the outcome is \"deny\"",
           doc_zh="结果：允许/拒绝（或 allow/deny）", doc_en="the outcome: allow/deny (or 允许/拒绝)"),
    Phrase(key="reason", kind="then", zh=r"原因包含 \"(?P<name>[^\"]+)\"", en=r"the reasons include \"(?P<name>[^\"]+)\"",
           example_zh="那么 原因包含 \"fans_2023\"", example_en="Then the reasons include \"fans_below_threshold\"",
           doc_zh="原因中有此规则或原因代码", doc_en="a reason names this rule or reason code"),
    Phrase(key="no_reason", kind="then", zh=r"原因不包含 \"(?P<name>[^\"]+)\"",
           en=r"the reasons do not include \"(?P<name>[^\"]+)\"",
           example_zh="那么 原因不包含 \"too_few_videos\"", example_en="Then the reasons do not include \"too_few_videos\"",
           doc_zh="原因中没有此规则或原因代码", doc_en="no reason names this rule or reason code"),
    Phrase(key="message", kind="then", zh=r"提示信息为 \"(?P<text>.+)\"", en=r"the message is \"(?P<text>.+)\"",
           example_zh="那么 提示信息为 \"需完成实名认证\"", example_en="Then the message is \"Real-name verification is required\"",
           doc_zh="某条原因的提示信息（中文或英文）完全一致", doc_en="a reason's message (Chinese or English) is exactly this"),
    Phrase(key="warning", kind="then", zh=r"警告包含 \"(?P<name>[^\"]+)\"", en=r"the warnings include \"(?P<name>[^\"]+)\"",
           example_zh="那么 警告包含 \"low_rating\"", example_en="Then the warnings include \"low_rating\"",
           doc_zh="警告中有此规则或代码", doc_en="a warning names this rule or code"),
    Phrase(key="no_warning", kind="then", zh=r"警告不包含 \"(?P<name>[^\"]+)\"",
           en=r"the warnings do not include \"(?P<name>[^\"]+)\"",
           example_zh="那么 警告不包含 \"low_rating\"", example_en="Then the warnings do not include \"low_rating\"",
           doc_zh="警告中没有此规则或代码", doc_en="no warning names this rule or code"),
    Phrase(key="no_warnings", kind="then", zh=r"没有警告", en=r"there are no warnings",
           example_zh="那么 没有警告", example_en="Then there are no warnings",
           doc_zh="没有任何警告", doc_en="no warning at all"),
    Phrase(key="consequence", kind="then", zh=r"后果包含 \"(?P<name>[^\"]+)\"",
           en=r"the consequences include \"(?P<name>[^\"]+)\"",
           example_zh="那么 后果包含 \"demotion\"", example_en="Then the consequences include \"demotion\"",
           doc_zh="决策的后果中有此种类（demotion/restriction/suspension/ban/deduction，或中文名）、规则或代码",
           doc_en="a consequence of the decision has this kind (demotion/restriction/suspension/ban/deduction, or its "
                  "Chinese name), rule or code"),
    Phrase(key="no_consequences", kind="then", zh=r"没有后果", en=r"there are no consequences",
           example_zh="那么 没有后果", example_en="Then there are no consequences",
           doc_zh="决策没有任何后果", doc_en="the decision has no consequence at all"),
    Phrase(key="consequence_until", kind="then", zh=r"后果 \"(?P<name>[^\"]+)\" 至 (?P<date>\d{4}-\d{2}-\d{2})",
           en=r"the consequence \"(?P<name>[^\"]+)\" lasts until (?P<date>\d{4}-\d{2}-\d{2})",
           example_zh="那么 后果 \"demotion\" 至 2024-01-04",
           example_en="Then the consequence \"demotion\" lasts until 2024-01-04",
           doc_zh="这项后果持续到该日期", doc_en="that consequence lasts until the date"),
    Phrase(key="consequence_amount", kind="then", zh=r"后果 \"(?P<name>[^\"]+)\" 金额为 (?P<amount>.+)",
           en=r"the consequence \"(?P<name>[^\"]+)\" amounts to (?P<amount>.+)",
           example_zh="那么 后果 \"deduction\" 金额为 ¥500", example_en="Then the consequence \"deduction\" amounts to ¥500",
           doc_zh="这项后果的金额", doc_en="the amount of that consequence"),
    Phrase(key="value", kind="then", zh=r"(?!结果|提示信息|评估)(?P<name>.+?) 为 (?P<value>.+)",
           en=r"(?!the outcome |the message |the reasons |the warnings |the evaluation |the whole book|\")"
              r"(?P<name>.+?) is (?P<value>.+)",
           example_zh="那么 保证金 为 ¥20000", example_en="Then 保证金 is ¥20000",
           doc_zh="某个计算值（编号或标签）等于期望值；缺少事实而未能计算时失败，并指出缺少的事实",
           doc_en="a computed value (by id or label) equals the expected value; fails naming the missing facts "
                  "when it could not be computed"),
    Phrase(key="fails", kind="then", zh=r"评估失败并提示 \"(?P<text>[^\"]+)\"", en=r"the evaluation fails with \"(?P<text>[^\"]+)\"",
           example_zh="那么 评估失败并提示 \"account.fans\"", example_en="Then the evaluation fails with \"account.fans\"",
           doc_zh="评估报错，错误信息（中文或英文）包含此文字", doc_en="evaluation failed and its error (Chinese or English) contains this text"),
)

# The phrases' meanings are catalogue texts too (the handbook looks them up as `phrase.KEY`).
i18n.register("phrase", {p.key: (p.doc_zh, p.doc_en) for p in PHRASES})

# Phrases more specific than the generic `X 为 Y` must be tried first.
ORDER = ("facts_table", "fact", "evaluate_on", "evaluate_book", "book_outcome", "book_part", "not_applicable",
         "not_in_force", "conflict", "known_conflict", "no_conflicts", "outcome", "reason", "no_reason", "message", "warning", "no_warning", "no_warnings",
         "consequence", "no_consequences", "consequence_until", "consequence_amount",
         "fails", "value")


def closest(text: str, lang: str, count: int = 3) -> list[str]:
    """The examples (keyword and all, in the language `lang`) of the phrases closest to a step's text (keyword left out),
    best first: what a step that matches no phrase was probably meant to be."""
    import difflib

    def score(phrase: Phrase) -> float:
        return max(difflib.SequenceMatcher(None, text, example.split(" ", 1)[1]).ratio()
                   for example in (phrase.example_zh, phrase.example_en))

    ranked = sorted(PHRASES, key=score, reverse=True)
    return [getattr(p, f"example_{lang}") for p in ranked[:count] if score(p) >= 0.4]
