"""Teaching and scaffolding for policy authors: `explain-code` (every diagnostic code explained with a wrong and
a right example, in Chinese and English) and `init` (a new rule book that checks, tests and renders at once)."""
from __future__ import annotations

import difflib
import re
from typing import NotRequired, TypedDict

from policydsl import i18n
from policydsl.source import visible

# ------------------------------------------------------------------ the tool's own strings (zh, en)
STRINGS: dict[str, tuple[str, str]] = {
    "colon": ("：", ": "),
    "what": ("含义", "What it means"),
    "why": ("为什么重要", "Why it matters"),
    "wrong": ("错误写法", "Wrong"),
    "right": ("正确写法", "Right"),
    "more_lines": ("……（还有 {lines} 行，与上面相似）", "… ({lines} more lines like these)"),
    "documents": ("示例用到的来源文件", "Source documents the example uses"),
    "reserved": ("目前检查器不会报告此代码：上面的错误写法实际报告为 {code}。",
                 "The checker does not report this code today: the wrong example above is reported as {code}."),
    "encoding": ("（以 GBK 编码保存的文件）", " (the file saved in the GBK encoding)"),
    "saved_in": ("（以 {encoding} 编码保存）", " (saved in the {encoding} encoding)"),
    "unknown": ("未知的诊断代码 `{code}`", "unknown diagnostic code `{code}`"),
    "did_you_mean": ("你是不是想查 `{code}`？", "did you mean `{code}`?"),
    "list_hint": ("运行 `policydsl explain-code --list` 查看全部代码", "run `policydsl explain-code --list` to see every code"),
    "need_code": ("请给出一个诊断代码，例如 P0201，或使用 --list", "give a diagnostic code such as P0201, or use --list"),
    "not_empty": ("{path} 不是空文件夹：init 只在新的或空的文件夹中创建规则库",
                  "{path} is not empty: init only creates a rule book in a new or empty folder"),
    "not_folder": ("{path} 不是文件夹", "{path} is not a folder"),
    "cannot_create": ("无法在 {path} 创建规则库：{reason}", "cannot create a rule book in {path}: {reason}"),
    "created": ("已在 {path} 创建规则库（{count} 个文件）。下一步：", "created a rule book in {path} ({count} files). Next:"),
}


s = i18n.register("authoring", STRINGS)


# ------------------------------------------------------------------ explanations: code -> what / why / wrong / right
def _head(policy: str = "demo.cart", zh: str = "演示", en: str = "Demo", extra: str = "") -> str:
    return f'policy {policy}\n  title "{zh}" / "{en}"\n{extra}\n'


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


FANS = 'input account.fans: count "粉丝数" / "Followers"\n'
FANS_UNIT = 'input account.fans: count "粉丝数" / "Followers" unit follower\n'
REAL = 'input account.real_name: bool "实名认证" / "Real-name verified"\n'
KIND = ('input account.kind: account_kind "账号类型" / "Account type"\n'
        'input account.business_licence: bool "营业执照" / "Business licence"\n')
SRC = '  source "doc.txt" quote "1000粉丝"\n'
CONS_RULE = ('\nrule fans "粉丝门槛" / "Follower threshold"\n  require account.fans >= 1000\n'
             '    else deny fans_low "粉丝不足" / "Too few followers"\n')
ENTITY = 'entity account "抖音账号" / "Douyin account"\n  fact fans: count "粉丝数" / "Followers"\n\n'
SHIP_MODE = ('enum ship_mode "发货模式" / "Shipping mode"\n  value spot "现货" / "Spot goods"\n'
             '  value presale "预售" / "Pre-sale"\n\n'
             'input product.mode: ship_mode "发货模式" / "Shipping mode"\n'
             'input product.days: count "发货天数" / "Days to ship"\n\n')


def _fans_rule(condition: str = "account.fans >= 1000", message: str = '"粉丝不足" / "Too few followers"',
               name: str = "fans", source: str = SRC) -> str:
    return (f'\nrule {name} "粉丝门槛" / "Follower threshold"\n  require {condition}\n'
            f'    else deny fans_low {message}\n{source}')


def _licence_rule(scope: str) -> str:
    return ('\nrule licence "企业号营业执照" / "Enterprise licence"\n'
            f'  when {scope}\n  require account.business_licence\n'
            '    else deny licence_missing "缺少营业执照" / "Business licence missing"\n'
            '  source "doc.txt" quote "企业号必须上传营业执照"\n')


def _real_rule(before: str = "", source: str = '  source "doc.txt" quote "完成实名认证"\n') -> str:
    return ('\nrule real_name "实名认证" / "Real-name verification"\n' + before +
            '  require account.real_name\n'
            '    else deny not_verified "需完成实名认证" / "Real-name verification is required"\n' + source)


def _shop_deposit_table(rows: str, params: str = "kind: account_kind", result: str = "money", hit: str = "") -> str:
    return (_head("demo.deposit", "保证金", "Deposit") +
            f'table deposit_for({params}) -> {result} "保证金标准" / "Deposit standard"\n{hit}{rows}')


def _days_table(rows: str) -> str:
    return (_head("demo.settlement", "结算周期", "Settlement period") +
            'table settlement_days(day: count) -> count "结算天数" / "Settlement days"\n' + rows)


def _scene_table(columns: str, rows: str) -> str:
    return (_head("demo.scenes", "带货场景", "Selling scenes") +
            'table scene_allowed(role: account_role, scene: selling_scene) -> bool "是否可带货" / "May sell"\n'
            f'  columns {columns}\n{rows}')


def _exceptions(second_priority: str, cycle: bool = False) -> str:
    return (_head("demo.exceptions", "例外", "Exceptions") +
            'input shop.closed: bool "店铺已关闭" / "Shop closed"\n'
            'input shop.cross_border: bool "跨境商家" / "Cross-border merchant"\n'
            'input product.own_store: bool "本店商品" / "Own-store product"\n\n'
            'rule own_store_only "仅可带本店商品" / "Own-store products only"\n'
            + ('  exception to closed_shop\n' if cycle else '') +
            '  when not product.own_store\n'
            '  deny not_own_store "仅可添加本店商品" / "Only own-store products may be added"\n'
            '  source "doc.txt" quote "只添加本店商品"\n\n'
            'rule cross_border_exempt "跨境商家除外" / "Cross-border merchants are exempt"\n'
            '  exception to own_store_only priority 1\n  when shop.cross_border\n'
            '  allow cross_border_exempt "跨境商家不受限制" / "Cross-border merchants are not restricted"\n'
            '  source "doc.txt" quote "跨境商家除外"\n\n'
            'rule closed_shop "关店后不再受限" / "A closed shop is no longer restricted"\n'
            f'  exception to own_store_only priority {second_priority}\n  when shop.closed\n'
            '  allow shop_closed "店铺已关闭" / "The shop is closed"\n'
            '  source "doc.txt" quote "关店成功后"\n')


def _supersede(old_until: str) -> str:
    return (_head() + FANS + '\n'
            'rule fans_2020 "粉丝门槛（2020）" / "Follower threshold (2020)"\n'
            f'  effective from 2020-04-07 until {old_until}\n  require account.fans >= 1000\n'
            '    else deny fans_low "粉丝不足" / "Too few followers"\n' + SRC + '\n'
            'rule fans_2023 "粉丝门槛（2023）" / "Follower threshold (2023)"\n'
            '  effective from 2023-01-01\n  supersedes fans_2020\n  require account.fans >= 500\n'
            '    else deny fans_low "粉丝不足" / "Too few followers"\n  source "doc.txt" quote "500粉丝"\n')


def _rollout(second_from: str) -> str:
    return (_head("demo.rollout", "灰度", "Rollout") +
            'input account.id: text "账号ID" / "Account id"\n\n'
            'rollout restriction "逐步放开" / "Gradual rollout"\n  key account.id\n'
            '  phase pilot "内测" / "Pilot" from 2023-11-11 until 2023-12-10 ramp 0% to 50%\n'
            f'  phase full "全面生效" / "Full effect" from {second_from} until 2023-12-31 ramp 50% to 100%\n')


def _define_min_fans(cases: str) -> str:
    return (_head() + 'define cart.min_fans: count "粉丝门槛" / "Follower threshold"\n' + cases + SRC)


NOTICE_TEXT = ("抖音购物车开通条件\n1000粉丝且已发布10个以上公开原创视频的所有抖音用户,都可以提交申请。\n"
               "至少需要绑定手机号,并完成实名认证。\n")
NOTICE: dict[str, str | tuple[str, str]] = {"notice.txt": NOTICE_TEXT}


class Explanation(TypedDict):
    """One code's explanation: zh/en title, what and why; the wrong and right examples (policy text)."""

    title: dict[str, str]
    what: dict[str, str]
    why: dict[str, str]
    wrong: str
    right: str
    check: NotRequired[str]  # how the test checks the examples: "encoding", "notes" (`check --info`), "sources"
    documents: NotRequired[dict[str, str | tuple[str, str]]]  # name -> text, or (encoding, text)
    deep: NotRequired[bool]  # the solver's analyses: `check --deep`
    reported_as: NotRequired[str]  # a reserved code: the wrong example is reported under this one


def _entry(title: tuple[str, str], what: tuple[str, str], why: tuple[str, str], wrong: str, right: str, *,
           check: str | None = None, documents: dict[str, str | tuple[str, str]] | None = None,
           deep: bool | None = None, reported_as: str | None = None) -> Explanation:
    entry: Explanation = {"title": _t(*title), "what": _t(*what), "why": _t(*why), "wrong": wrong, "right": right}
    if check is not None:
        entry["check"] = check
    if documents is not None:
        entry["documents"] = documents
    if deep is not None:
        entry["deep"] = deep
    if reported_as is not None:
        entry["reported_as"] = reported_as
    return entry


# ---- overlaps: several files in one example, each after a `# file: NAME` line
VOCAB_FANS = ('entity account "抖音账号" / "Douyin account"\n  fact fans: count "粉丝数" / "Followers"\n')


def _fans_policy(policy: str, zh: str, en: str, threshold: int, extra: str = "") -> str:
    return (_head(policy, zh, en) + f'rule fans "粉丝门槛" / "Follower threshold"\n  require account.fans >= {threshold}\n'
            f'    else deny fans_low "粉丝不足 {threshold}" / "Fewer than {threshold} followers"\n'
            f'  source "doc.txt" quote "{threshold}粉丝"\n' + extra)


def _overlap_example(overlap: str, a: int = 1000, b: int = 500, a_extra: str = "", b_extra: str = "",
                     c: bool | str = False) -> str:
    """A shared file with the vocabulary and one overlap, then the policies demo.a and demo.b (and demo.c,
    holding the assume WHY when `c` is "assume")."""
    out = ("# file: book.policy\n" + VOCAB_FANS + "\n" + overlap + "\n# file: a.policy\n"
           + _fans_policy("demo.a", "甲", "A", a, a_extra) + "\n# file: b.policy\n" + _fans_policy("demo.b", "乙", "B", b, b_extra))
    if c:
        out += "\n# file: c.policy\n" + _fans_policy("demo.c", "丙", "C", 1000, WHY if c == "assume" else "")
    return out


def _question(resolution: str = "", between: str = "demo.a and demo.b", agree: str = "") -> str:
    return (f'overlap fans_question "开通资格" / "Eligibility"\n  between {between}\n' + (f"  agree {agree}\n" if agree else "")
            + (f"  {resolution}\n" if resolution else ""))


WHY = ('\nassume why "甲、乙两份文档的粉丝门槛不同：这里写明以哪份为准（或为何无法决定）及理由。" / "The two documents give different follower thresholds: here, which prevails (or why neither can) and why."\n'
       '  about fans\n')


def example_files(text: str) -> list[tuple[str, str]]:
    """An example's files: the text after each `# file: NAME` line, or the whole text as example.policy."""
    parts = re.split(r"^# file: (\S+)\n", text, flags=re.M)
    if len(parts) == 1:
        return [("example.policy", text)]
    return [(name, body) for name, body in zip(parts[1::2], parts[2::2])]


EXPLANATIONS: dict[str, Explanation] = {
    # ---- syntax
    "P0101": _entry(
        ("意外的记号", "Unexpected token"),
        ("解析器读到一个此处不可能出现的词或符号，通常是前一个子句少写了一部分（冒号、文本、关键字）。",
         "The parser met a word or symbol that cannot stand here; usually the previous clause is missing a piece "
         "(a colon, a text, a keyword)."),
        ("语法错误之后文件的其余部分无法可靠理解，规则不会被检查或执行。",
         "After a syntax error the rest of the file cannot be understood reliably, so no rule is checked or run."),
        _head() + 'input account.fans count "粉丝数" / "Followers"\n',
        _head() + FANS),
    "P0102": _entry(
        ("无法识别的字符", "Unrecognised character"),
        ("文件里出现了语言不使用的字符：中文弯引号“”、全角标点，或把中文当作名称。",
         "The file holds a character the language does not use: curly quotes “”, full-width punctuation, "
         "or Chinese used as a name."),
        ("名称要在事实、特性文件和文档中稳定引用，必须是 ASCII；中文属于 \"中文\" / \"English\" 文本。",
         "Names are referred to from facts, features and the handbook and must be ASCII; Chinese belongs in "
         "\"中文\" / \"English\" text."),
        _head() + 'input 粉丝数: count "粉丝数" / "Followers"\n',
        _head() + FANS),
    "P0103": _entry(
        ("文件意外结束", "Unexpected end of file"),
        ("文件在一个声明的中间结束了，例如比较运算符后面没有右侧的值。",
         "The file ends in the middle of a declaration, for example after a comparison operator."),
        ("未写完的规则无法检查，也无法判定结果。", "An unfinished rule can be neither checked nor decided."),
        _head() + FANS + 'rule fans "粉丝门槛" / "Follower threshold"\n  require account.fans >=\n',
        _head() + FANS + _fans_rule()),
    "P0104": _entry(
        ("无法读取文件", "Cannot read the file"),
        ("文件不存在、没有读取权限，或不是 UTF-8 编码（例如用 GBK 保存）。",
         "The file does not exist, cannot be read, or is not UTF-8 (for example saved as GBK)."),
        ("读不到的文件中的政策会被静默遗漏；policydsl 要求所有 .policy 文件使用 UTF-8。",
         "Policies in an unreadable file would silently go missing; every .policy file must be UTF-8."),
        _head() + FANS,
        _head() + FANS,
        check="encoding"),
    "P0110": _entry(
        ("require 缺少 else", "`require` without `else`"),
        ("`require 条件` 之后必须写 `else deny|warn 代码 文本`，说明条件不满足时的结论。",
         "`require CONDITION` must be followed by `else deny|warn CODE TEXT`: the outcome when the condition fails."),
        ("没有 else 就没有拒绝原因和提示信息，决策无法向用户解释。",
         "Without `else` there is no reason code and no message, so the decision cannot be explained to the user."),
        _head() + FANS + 'rule fans "粉丝门槛" / "Follower threshold"\n  require account.fans >= 1000\n'
        '    deny fans_low "粉丝不足" / "Too few followers"\n' + SRC,
        _head() + FANS + _fans_rule()),
    "P0111": _entry(
        ("文本缺少一种语言", "Text in one language only"),
        ("每段给人看的文本都写成 \"中文\" / \"English\"，这里只有一半。",
         "Every text a person reads is written \"中文\" / \"English\"; this one has only one half."),
        ("决策、文档和提示信息都以中英双语输出，缺一种语言就会缺一份手册。",
         "Decisions, the handbook and messages are bilingual; a missing half leaves one language without text."),
        _head() + 'input account.fans: count "粉丝数"\n',
        _head() + FANS),
    "P0112": _entry(
        ("规则缺少结论", "Rule without an outcome"),
        ("规则有名称和范围（when），但没有 `require … else …` 或 `allow|deny|warn 代码 文本`。",
         "The rule has a name and a scope (`when`) but no `require … else …` and no `allow|deny|warn CODE TEXT`."),
        ("没有结论的规则什么也不做，却看起来像是生效的规定。",
         "A rule without an outcome does nothing while looking like a rule in force."),
        _head() + FANS + 'rule fans "粉丝门槛" / "Follower threshold"\n  when account.fans >= 1000\n' + SRC,
        _head() + FANS + _fans_rule()),
    "P0113": _entry(
        ("用 = 比较", "`=` used to compare"),
        ("比较两个值用 `==`；单个 `=` 只用于 define 的取值。",
         "Comparisons use `==`; a single `=` only introduces a value of a `define`."),
        ("把比较误写成赋值在很多语言里是经典错误；这里直接拒绝，避免歧义。",
         "Mistaking assignment for comparison is a classic bug; the language refuses it outright."),
        _head() + KIND + _licence_rule("account.kind = enterprise"),
        _head() + KIND + _licence_rule("account.kind == enterprise")),
    "P0114": _entry(
        ("unit 被读作单位子句", "`unit` read as a unit clause"),
        ("紧跟在 input/define 之后的 `unit 名称` 会被读作它的单位，于是后面的 \"中文\" / \"English\" 成了多余的文本。",
         "A `unit NAME` right after an input or define is read as that declaration's unit, so the text after it "
         "is left over."),
        ("单位声明若被误读，后续所有用到它的地方都会报未知单位。",
         "If a unit declaration is misread, every later use of that unit is reported as unknown."),
        _head() + FANS + 'unit viewer "人" / "viewers"\n',
        _head() + 'unit viewer "人" / "viewers"\n'
        'input live.viewers: count "观看人数" / "Viewers" unit viewer\n'),
    "P0115": _entry(
        ("表达式嵌套过深", "Expression nested too deeply"),
        ("一个表达式里的运算符、函数调用、聚合或集合互相嵌套超过 100 层（一串 `a and b and c` 每个运算符算一层；括号不算）。",
         "Operators, calls, aggregates or sets nest inside one expression more than 100 levels deep (a chain "
         "`a and b and c` nests one level per operator; parentheses count for nothing)."),
        ("没有人能读懂这样的条件，手册也无法把它写成一句话；每个工具都递归处理表达式，这个上限保证它们都不会崩溃。",
         "Nobody can read such a condition, nor can the handbook say it in a sentence; every tool walks expressions "
         "recursively, and this bound keeps each of them from crashing."),
        _head() + FANS + _fans_rule(condition="-" * 100 + "account.fans <= -1000"),
        _head() + FANS + _fans_rule()),
    "P0116": _entry(
        ("取值嵌套过深", "Value nested too deeply"),
        ("计算一个取值时，要先算出它读取的取值；它们的表达式层层相套，合计超过 100 层（与 P0115 的上限相同）。",
         "Computing a value first computes the values it reads; their expressions nest inside each other more "
         "than 100 levels deep in all (the same bound as P0115)."),
        ("每个工具都递归地计算取值；这个上限保证求值、求解器和手册都不会崩溃，也提醒作者拆开难以审核的计算链。",
         "Every tool computes values recursively; this bound keeps evaluation, the solver and the handbook from "
         "crashing, and flags a chain of computations too long to review."),
        _head() + FANS + 'define demo.a: count "甲" / "A"\n  = ' + "-" * 60 + 'account.fans\n'
        'define demo.b: count "乙" / "B"\n  = ' + "-" * 60 + 'demo.a\n',
        _head() + FANS + 'define demo.a: count "甲" / "A"\n  = account.fans\n'
        'define demo.b: count "乙" / "B"\n  = demo.a\n'),
    "P0117": _entry(
        ("数字位数过多", "Number with too many digits"),
        ("政策里写出的数字（整数、小数、金额 ¥…、百分比 …%）最多 34 位数字（不计开头的 0）。",
         "A number written in a policy (an integer, a decimal, an amount ¥…, a percentage …%) has at most 34 "
         "digits, leading zeros aside."),
        ("policydsl 用精确十进制计算，从不悄悄舍入；事实也最多 34 位有效数字，这个上限让每一步计算都保持精确。",
         "policydsl computes with exact decimals and never rounds silently; facts carry at most 34 significant "
         "digits too, and this bound keeps every step of a computation exact."),
        _head() + FANS + _fans_rule(condition="account.fans >= 10000000000000000000000000000000000000000"),
        _head() + FANS + _fans_rule()),
    "P0118": _entry(
        ("两个 applies when", "Two `applies when`"),
        ("政策头部写了不止一个 `applies when`。一条政策只说一次它适用于谁；多个条件请用 and / or 合成一个。",
         "The policy header has more than one `applies when`. A policy says once whom it applies to; combine "
         "several conditions into one with `and` / `or`."),
        ("两个子句只保留一个会悄悄改变整本评估的范围；合成一个条件让读者看到完整的适用范围。",
         "Keeping only one of two clauses would silently change what a whole-book decision covers; one "
         "condition shows the reader the whole scope."),
        _head(extra="  applies when account.kind == enterprise\n  applies when account.fans > 0\n")
        + KIND + FANS + _licence_rule("account.fans >= 0"),
        _head(extra="  applies when account.kind == enterprise and account.fans > 0\n")
        + KIND + FANS + _licence_rule("account.fans >= 0")),
    "P0119": _entry(
        ("子句写了两次", "A clause written twice"),
        ("一个声明里至多出现一次的子句写了两次：政策头部的 title / effective，规则的 when / effective / supersedes / "
         "exception to / require（或 allow|deny|warn），define 取值的 when / from / until，property 的 effective / when / "
         "expect，overlap 的 effective / when / agree / prevails（known conflict），表的 hit。",
         "A clause that a declaration has at most once is written twice: a policy header's title / effective, a rule's "
         "when / effective / supersedes / exception to / require (or allow|deny|warn), a define case's when / from / "
         "until, a property's effective / when / expect, an overlap's effective / when / agree / prevails (known "
         "conflict), a table's hit."),
        ("只保留第一个会悄悄丢掉第二个：读者以为两个条件都在起作用，规则却只检查了一个；`fmt` 也会把它删掉。"
         "把条件用 and / or 合成一个，或删去多余的一个。",
         "Keeping only the first would silently drop the second: a reader believes both conditions apply while the "
         "rule checks one, and `fmt` would delete it. Join the conditions with `and` / `or`, or remove the extra one."),
        _head() + KIND + FANS + _licence_rule("account.kind == enterprise\n  when account.fans >= 1000"),
        _head() + KIND + FANS + _licence_rule("account.kind == enterprise and account.fans >= 1000")),
    "P0120": _entry(
        ("数字写了千位分隔符", "A number with thousands separators"),
        ("金额、百分比和数字都连写：`¥1,000` 要写成 `¥1000`。逗号在语言里分隔参数、集合元素和表格单元格。",
         "Amounts, percentages and numbers are written without separators: `¥1,000` is `¥1000`. A comma separates "
         "arguments, set members and table cells."),
        ("若把逗号读作分隔符，`¥1,000` 会变成两个值 `¥1` 和 `000`，门槛就错了一千倍；所以语言直接拒绝它。",
         "Read as a separator, the comma would make `¥1,000` two values, `¥1` and `000`, a threshold a thousand "
         "times too low; the language refuses it instead."),
        _head() + 'input shop.deposit: money "保证金" / "Deposit"\n'
        + _fans_rule(condition="shop.deposit >= ¥1,000", name="deposit"),
        _head() + 'input shop.deposit: money "保证金" / "Deposit"\n'
        + _fans_rule(condition="shop.deposit >= ¥1000", name="deposit")),
    "P0121": _entry(
        ("结论缺少代码", "An outcome without a code"),
        ("`allow`、`deny` 或 `warn` 之后先写代码（决策给出的原因编号），再写 \"中文\" / \"English\" 文本。",
         "After `allow`, `deny` or `warn` comes a code (the reason id a decision reports), then the "
         "\"中文\" / \"English\" text."),
        ("代码是决策、测试（原因包含 …）和手册引用这条结论的方式；没有代码就无法在场景里断言它。",
         "The code is how decisions, tests (reason contains …) and the handbook refer to the outcome; without one a "
         "scenario cannot assert it."),
        _head() + FANS + '\nrule fans "粉丝门槛" / "Follower threshold"\n  when account.fans < 1000\n'
        '  deny "粉丝不足" / "Too few followers"\n' + SRC,
        _head() + FANS + '\nrule fans "粉丝门槛" / "Follower threshold"\n  when account.fans < 1000\n'
        '  deny fans_low "粉丝不足" / "Too few followers"\n' + SRC),
    "P0122": _entry(
        ("表达式没写完", "Incomplete expression"),
        ("运算符之后缺少它的另一边：比较或算术运算符之后缺少值，and / or / not 之后缺少条件。诊断指向这个运算符。",
         "An operator lacks its other side: a value after a comparison or arithmetic operator, a condition after "
         "and / or / not. The diagnostic points at the operator."),
        ("写到一半的条件若被读成别的东西，报错会落在下一行、说的是另一件事；指出运算符才能直接改对。",
         "A half-typed condition would otherwise be reported on the next line as something else; pointing at the "
         "operator says what to finish."),
        _head() + FANS + _fans_rule(condition="account.fans >="),
        _head() + FANS + _fans_rule()),
    "P0123": _entry(
        ("双向控制字符", "A bidirectional control character"),
        ("文件里（文本、标签、注释中）有 Unicode 双向嵌入、覆盖或隔离字符（U+202A–U+202E、U+2066–U+2069）。"
         "编辑器、终端和手册显示文本时会按它们重新排序，看到的与写下的不同。",
         "The file holds a Unicode bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069) "
         "in a text, a label or a comment. Editors, terminals and the handbook reorder the text around it, so "
         "what is shown differs from what is written."),
        ("这类字符能让审阅者读到的规则与实际执行的不同（“Trojan Source”，CVE-2021-42574）；rustc 同样拒绝它们。"
         "中文和英文文本都不需要它们。诊断把它显示为 �。",
         "Such characters let a reviewer read a rule other than the one that runs (“Trojan Source”, "
         "CVE-2021-42574); rustc refuses them too. Neither Chinese nor English text needs them. The diagnostic "
         "shows the character as �."),
        _head() + FANS + _fans_rule(message='"粉丝不足" / "Too few \u202efollowers"'),
        _head() + FANS + _fans_rule()),
    "P0124": _entry(
        ("政策太大", "Policy too large"),
        ("一条政策的规则、取值、property 和 `applies when` 合计超过 20,000 个语法节点（每个名称、数字、运算符、文本各算一个；"
         "表的行是数据，不计在内）。规则书中最大的政策有 352 个。",
         "A policy's rules, values, properties and `applies when` hold more than 20,000 syntax nodes in all (each "
         "name, number, operator and text counts one; a table's rows are data and do not count). The largest policy "
         "of the rule book holds 352."),
        ("每条政策编译成几个 Python 函数，函数的大小、编译它所需的内存和时间都随这些节点增长；这个上限使一个文件（也许是生成的，"
         "也许是恶意的）无法让 check、eval、决策服务或语言服务器耗尽内存。",
         "Each policy compiles to a few Python functions whose size, and the memory and time compiling them takes, "
         "grow with these nodes; this bound keeps one file (generated, or hostile) from exhausting the memory of "
         "`check`, `eval`, the decision service or the language server."),
        _head() + FANS + "".join(_fans_rule(f"account.fans >= {i}", name=f"fans{i}") for i in range(2001)),
        _head() + FANS + _fans_rule()),
    "P0125": _entry(
        ("取值的情形太多", "Too many cases of a value"),
        ("一个取值（define）写了超过 100 种情形（`= … when …`）。",
         "A value (`define`) has more than 100 cases (`= … when …`)."),
        ("每种情形在生成的代码、批量评分的 SQL 和求解器中都嵌套一层，各工具递归地处理它们（1,000 种情形曾让 eval "
         "崩溃）；上限与表达式嵌套（P0115）相同。按事实分档的情形写成表，表的行是数据，不受此限。",
         "Each case nests one level in the generated code, the SQL of batch scoring and the solver, which every tool "
         "walks recursively (1,000 cases used to crash `eval`); the bound is that of an expression's nesting "
         "(P0115). Cases that differ by a fact belong in a table, whose rows are data and not bound by this."),
        _head() + FANS + 'define demo.level: count "档位" / "Level"\n'
        + "".join(f"  = {i} when account.fans == {i}\n" for i in range(101)) + "  = 0\n",
        _head() + FANS + 'define demo.level: count "档位" / "Level"\n  = 1 when account.fans >= 1000\n  = 0\n'),
    "P0126": _entry(
        ("规则的例外太多", "Too many exceptions to a rule"),
        ("超过 100 条规则写了 `exception to` 同一条规则。", "More than 100 rules are each an `exception to` one rule."),
        ("每条例外在生成的代码中为这条规则多嵌套一层检查，Python 的工具递归地处理它们（1,000 条例外曾让 eval、docs 和 "
         "score 崩溃）；上限与表达式嵌套（P0115）相同。这么多例外通常可以合并成几条规则或一张表。",
         "Each exception nests one more test of the rule in the generated code, which Python's tools walk "
         "recursively (1,000 exceptions used to crash `eval`, `docs` and `score`); the bound is that of an "
         "expression's nesting (P0115). So many exceptions can usually be merged into a few rules or a table."),
        _head() + FANS + _fans_rule() + "".join(
            f'\nrule exempt{i} "豁免{i}" / "Exemption {i}"\n  exception to fans priority {i}\n  when account.fans == {i}\n'
            f'  allow exempt{i} "豁免" / "Exempt"\n  source "doc.txt" quote "1000粉丝"\n' for i in range(1, 102)),
        _head() + FANS + _fans_rule() + '\nrule exempt "豁免" / "Exemption"\n  exception to fans priority 1\n'
        '  when account.fans < 10\n  allow exempt "豁免" / "Exempt"\n  source "doc.txt" quote "1000粉丝"\n'),
    # ---- names
    "P0201": _entry(
        ("未定义的名称", "Undefined name"),
        ("表达式引用的名称既不是输入、取值、表、规则，也不是枚举值。提示会给出最接近的名称（也按中文标签查找）。",
         "The expression names something that is not an input, value, table, rule or enum value. The hint gives "
         "the closest name (labels in Chinese count too)."),
        ("拼错的名称若被悄悄当成缺失事实，规则就会在运行时才失败。",
         "A misspelt name taken as a missing fact would fail only at run time."),
        _head() + FANS + _fans_rule("account.fan >= 1000"),
        _head() + FANS + _fans_rule()),
    "P0202": _entry(
        ("重复的标识", "Duplicate id"),
        ("同一个名称在一个政策里声明了两次（或共享文件里的单位、枚举重复）。",
         "The same name is declared twice in a policy (or a shared unit or enum is declared twice)."),
        ("两个同名声明会让事实和引用指向不明确的对象。",
         "Two declarations with one name make facts and references ambiguous."),
        _head() + FANS + 'input account.fans: count "粉丝数量" / "Follower count"\n',
        _head() + FANS),
    "P0203": _entry(
        ("未知类型", "Unknown type"),
        ("类型只能是 count、number、money、percent、bool、text、date，或已声明的枚举（以及 set of 枚举）。",
         "A type is count, number, money, percent, bool, text, date, a declared enum, or `set of` an enum."),
        ("类型决定事实如何读取、如何比较；未知类型无法检查。",
         "The type decides how a fact is read and compared; an unknown type cannot be checked."),
        _head() + 'input account.fans: integer "粉丝数" / "Followers"\n',
        _head() + FANS),
    "P0204": _entry(
        ("未知单位", "Unknown unit"),
        ("`unit` 后面的名称没有用 `unit 名称 \"中文\" / \"English\"` 声明过（通常写在 common.policy）。",
         "The name after `unit` was never declared with `unit NAME \"中文\" / \"English\"` (usually in "
         "common.policy)."),
        ("单位防止把粉丝数和视频数这类不同的量相比较。",
         "Units keep different quantities, such as followers and videos, from being compared."),
        _head() + 'input account.fans: count "粉丝数" / "Followers" unit fans\n',
        _head() + 'input account.fans: count "粉丝数" / "Followers" unit follower\n'),
    "P0205": _entry(
        ("声明写在 policy 之前", "Declaration before `policy`"),
        ("input、define、rule、table 等属于某条政策，必须写在该文件的 `policy` 头部之后；只有 enum 和 unit 可以写在共享文件里。",
         "Inputs, defines, rules and tables belong to a policy and must follow the file's `policy` header; only "
         "enums and units may stand in a shared file."),
        ("不属于任何政策的规则无法评估，也不会出现在文档里。",
         "A rule that belongs to no policy can be neither evaluated nor documented."),
        FANS + '\n' + _head(),
        _head() + FANS),
    "P0206": _entry(
        ("不是枚举的取值", "Not a value of the enum"),
        ("与枚举比较或作为表行键的名称不是该枚举的取值；提示会按编号和中文标签给出最接近的取值。",
         "The name compared with an enum, or used as a row key, is not one of its values; the hint finds the "
         "closest value by id or Chinese label."),
        ("拼错的枚举值会让条件永远不成立。", "A misspelt enum value makes a condition never true."),
        _head() + KIND + _licence_rule("account.kind == enterprize"),
        _head() + KIND + _licence_rule("account.kind == enterprise")),
    "P0207": _entry(
        ("一个文件有两个 policy", "Two policies in one file"),
        ("每个 .policy 文件最多包含一条政策；第二个 `policy` 头部要放进自己的文件。",
         "A .policy file holds at most one policy; a second `policy` header belongs in its own file."),
        ("一文件一政策让名称、文档和特性文件一一对应。",
         "One policy per file keeps names, the handbook and the features in step."),
        _head() + _head("demo.other", "另一个", "Another"),
        _head()),
    "P0208": _entry(
        ("名称用错了地方", "A name used in the wrong place"),
        ("名称存在，但它的种类（例如表、规则）不能出现在这个位置，例如把表当作值而不调用它。",
         "The name exists but its kind (a table, a rule) cannot stand here, for example a table used as a value "
         "without calling it."),
        ("表要用参数调用才有值；规则不是值。", "A table only has a value when called with arguments; a rule is not a value."),
        _shop_deposit_table('  row personal: ¥0\n  row enterprise: ¥2000\n  row individual_business: ¥1000\n')
        + 'input shop.kind: account_kind "主体类型" / "Subject kind"\n'
        'rule deposit_set "保证金" / "Deposit"\n  require deposit_for >= ¥0\n'
        '    else deny deposit_low "保证金不足" / "Deposit too low"\n  source "doc.txt" quote "保证金标准"\n',
        _shop_deposit_table('  row personal: ¥0\n  row enterprise: ¥2000\n  row individual_business: ¥1000\n')
        + 'input shop.kind: account_kind "主体类型" / "Subject kind"\n'
        'rule deposit_set "保证金" / "Deposit"\n  require deposit_for(shop.kind) >= ¥0\n'
        '    else deny deposit_low "保证金不足" / "Deposit too low"\n  source "doc.txt" quote "保证金标准"\n',
        reported_as="P0201"),
    "P0210": _entry(
        ("同一个事实两种类型", "One fact, two types"),
        ("同一个事实编号在词汇表（entity 中的 fact）或不同政策的 input 中声明了不同的类型或单位。",
         "The same fact id is declared with different types or units in the vocabulary (a `fact` of an entity) "
         "and a policy's `input`, or in the inputs of two policies."),
        ("一条记录里一个事实只有一个值；两种类型意味着两条政策读的其实不是同一个东西。",
         "A record holds one value per fact; two types mean two policies are not reading the same thing."),
        ENTITY + _head() + 'input account.fans: money "粉丝数" / "Followers"\n' + _fans_rule(),
        ENTITY + _head() + _fans_rule()),
    "P0211": _entry(
        ("多余的 input", "Redundant input"),
        ("政策用 input 再次声明了词汇表里已有的事实（类型相同）。政策直接使用词汇表中的事实，不必再声明。",
         "A policy declares, with `input`, a fact the vocabulary already has (with the same type). Policies use "
         "the vocabulary's facts directly; there is nothing to declare."),
        ("两处声明迟早会分叉：标签、单位改了一处，另一处还是旧的。",
         "Two declarations drift apart sooner or later: a label or unit changes in one place and not the other."),
        ENTITY + _head() + FANS + _fans_rule(),
        ENTITY + _head() + _fans_rule()),
    "P0212": _entry(
        ("实体没有这个事实", "Not a fact of the entity"),
        ("input 的编号以词汇表中某个实体开头（如 `account.`），但这个实体没有声明这个事实；通常是拼写错误，或新事实应当加进实体。",
         "The input's id starts with an entity of the vocabulary (such as `account.`), but the entity declares no "
         "such fact; usually a misspelling, or a new fact that belongs in the entity."),
        ("实体的事实只在一处声明，整本规则书才用同一套名称读同一条记录。",
         "When an entity's facts are declared in one place only, the whole book reads one record by one set of names."),
        ENTITY + _head() + 'input account.fanz: count "粉丝数量" / "Follower count"\n'
        + _fans_rule("account.fanz >= 1000"),
        ENTITY + _head() + _fans_rule()),
    "P0213": _entry(
        ("两个事实同一个标签", "Two facts, one label"),
        ("两个不同编号的事实有相同的中文或英文标签，它们很可能是同一个概念的两个名字。",
         "Two facts with different ids share a Chinese or an English label; they are likely two names of one "
         "concept."),
        ("同一概念两个名字，一条记录就要把同一个值写两遍，而且两处可能不一致。",
         "With two names for one concept, a record must carry one value twice, and the two may disagree."),
        ENTITY + _head() + 'input creator.fans: count "粉丝数" / "Followers"\n' + _fans_rule(),
        ENTITY + _head() + _fans_rule()),
    "P0214": _entry(
        ("枚举编号不是小写下划线", "Enum id not in snake_case"),
        ("枚举名和取值编号统一用小写字母、数字和下划线（snake_case），如 `account_kind`、`individual_business`。",
         "Enum names and value ids are lower-case letters, digits and underscores (snake_case), such as "
         "`account_kind` and `individual_business`."),
        ("统一的写法让事实文件、特性文件和 SQL 列里的取值一眼可认，也不会因大小写不同而对不上。",
         "One spelling keeps values recognisable in fact files, features and SQL columns, and never mismatched "
         "by case."),
        'enum ShipMode "发货模式" / "Shipping mode"\n  value spot "现货" / "Spot goods"\n'
        '  value presale "预售" / "Pre-sale"\n\n' + _head(),
        'enum ship_mode "发货模式" / "Shipping mode"\n  value spot "现货" / "Spot goods"\n'
        '  value presale "预售" / "Pre-sale"\n\n' + _head()),
    "P0215": _entry(
        ("枚举取值重复了枚举名", "Enum values repeat the enum's name"),
        ("一个枚举的所有取值都以同一个前缀开头，而这个前缀重复了枚举名中的词（如 `listing_review_class` 的 "
         "`class_special`）。取值编号只写取值本身：`special`。",
         "Every value of an enum starts with one prefix that repeats a word of the enum's name (such as "
         "`class_special` in `listing_review_class`). A value id names the value only: `special`."),
        ("事实的类型已经说明取值属于哪个枚举；前缀只让记录和特性文件更长，而且各枚举的前缀风格会越来越乱。",
         "The fact's type already says which enum a value belongs to; a prefix only lengthens records and features, "
         "and each enum drifts into a prefix style of its own."),
        'enum ship_mode "发货模式" / "Shipping mode"\n  value mode_spot "现货" / "Spot goods"\n'
        '  value mode_presale "预售" / "Pre-sale"\n\n' + _head(),
        'enum ship_mode "发货模式" / "Shipping mode"\n  value spot "现货" / "Spot goods"\n'
        '  value presale "预售" / "Pre-sale"\n\n' + _head()),
    "P0216": _entry(
        ("未知的后果种类", "Unknown consequence kind"),
        ("`consequence` 后面的种类不是 demotion（降权）、restriction（限制）、suspension（暂停）、ban（封禁）、deduction（扣除）之一；"
         "property 中的 `consequence(种类)` 也一样。",
         "The kind after `consequence` is not one of demotion, restriction, suspension, ban or deduction; the same "
         "goes for `consequence(KIND)` in a property."),
        ("调用方按种类区分处罚的轻重；拼错的种类无法被识别。",
         "Callers tell sanctions apart by their kind; a misspelt kind would never be recognised."),
        _head() + FANS + CONS_RULE + '  consequence demote for 7 days "降权7天" / "Demoted for 7 days"\n' + SRC,
        _head() + FANS + CONS_RULE + '  consequence demotion for 7 days "降权7天" / "Demoted for 7 days"\n' + SRC),
    "P0209": _entry(
        ("没有被提到的枚举值", "Enum value nothing mentions"),
        ("某个枚举被政策使用，但它的这个取值没有出现在任何规则、表、取值或 property 中（信息，不算问题；"
         "用 `check --info` 或在编辑器中查看）。",
         "An enum is used by a policy, but no rule, table, define or property mentions this value of it (an info "
         "note, not a problem; see it with `check --info` or in the editor)."),
        ("它往往由默认情形处理，这没有问题；但也可能是漏写了这个取值的规则。",
         "A default case often handles it, which is fine; but a rule for the value may also have been forgotten."),
        _head("demo.shipping", "发货", "Shipping") + SHIP_MODE +
        'rule spot_48h "现货48小时发货" / "Spot goods ship within 48 hours"\n  when product.mode == spot\n'
        '  require product.days <= 2\n    else deny late "发货超时" / "Shipped too late"\n'
        '  source "doc.txt" quote "48小时"\n',
        _head("demo.shipping", "发货", "Shipping") + SHIP_MODE +
        'table ship_within(mode: ship_mode) -> count "发货时限" / "Days allowed"\n'
        '  row spot: 2\n  row presale: 15\n\n'
        'rule ship_in_time "按时发货" / "Ship in time"\n'
        '  require product.days <= ship_within(product.mode)\n    else deny late "发货超时" / "Shipped too late"\n'
        '  source "doc.txt" quote "48小时"\n',
        check="notes"),
    # ---- types
    "P0308": _entry(
        ("后果的期限或金额类型不对", "A consequence's period or amount has the wrong type"),
        ("`for` 后面要写时长（7 days、6 months、3 working days），`until` 后面要写日期，`amount` 后面要写金额。",
         "`for` takes a duration (7 days, 6 months, 3 working days), `until` a date, and `amount` an amount of money."),
        ("后果的结束日期由评估日期加上时长算出，金额以精确小数给出；类型不对就无法计算。",
         "A consequence's end is the evaluation date plus its duration, and its amount an exact decimal; the wrong type "
         "cannot be computed."),
        _head() + FANS + CONS_RULE + '  consequence demotion for 7 "降权7天" / "Demoted for 7 days"\n' + SRC,
        _head() + FANS + CONS_RULE + '  consequence demotion for 7 days "降权7天" / "Demoted for 7 days"\n' + SRC),
    "P0309": _entry(
        ("扣除没有金额", "A deduction without an amount"),
        ("种类为 deduction 的后果必须用 `amount` 写明扣除多少。",
         "A consequence of kind deduction must say with `amount` how much is deducted."),
        ("扣除就是一笔钱；没有金额，调用方无法知道扣了多少，退还时也算不出剩余。",
         "A deduction is a sum of money; without it a caller cannot tell how much was taken, nor what is left to refund."),
        _head() + FANS + CONS_RULE + '  consequence deduction "扣罚保证金" / "Deposit deducted"\n' + SRC,
        _head() + FANS + CONS_RULE + '  consequence deduction amount ¥500 "扣罚保证金" / "Deposit deducted"\n' + SRC),
    "P0310": _entry(
        ("必然失败的运算", "An operation that always fails"),
        ("一个只由常量组成的运算（例如 `10000 / 0`、`9999-12-31 + 1 days`、超出日历覆盖年份的工作日、超过 100 "
         "位有效数字的乘积）在检查时就按运行时的规则算出，除以常量零的运算也一样；它失败，就意味着每次求值都以同样的错误结束。",
         "An operation on constants only (such as `10000 / 0`, `9999-12-31 + 1 days`, working days past the years "
         "the calendar covers, or a product of more than 100 significant digits) is computed when checking, by the "
         "runtime's own rules, and so is a division by a constant zero; that it fails means that every evaluation "
         "reaching it ends in the same error."),
        ("这样的政策能通过检查，却对每条用到它的记录都给出错误而不是决定；在检查时报告，作者在发布之前就能改正。",
         "Such a policy would check clean and then answer every record that reaches it with an error instead of a "
         "decision; reported when checking, it is corrected before the policy is published."),
        _head() + FANS + _fans_rule("account.fans >= 10000 / 0"),
        _head() + FANS + _fans_rule("account.fans >= 10000 / 10")),
    "P0301": _entry(
        ("类型不匹配", "Type mismatch"),
        ("运算符两边的类型不能组合，例如计数与文本比较、金额加日期。",
         "The operator cannot combine the two types, for example a count compared with a text, or money plus a "
         "date."),
        ("事实以精确类型读取；类型不配的运算在运行时没有意义。",
         "Facts are read with exact types; an ill-typed operation has no meaning at run time."),
        _head() + FANS + _fans_rule('account.fans == "1000"'),
        _head() + FANS + _fans_rule()),
    "P0302": _entry(
        ("条件不是 bool", "Condition is not bool"),
        ("require 与 when 后面必须是真假值，这里是数字、金额或文本。",
         "`require` and `when` need a true/false condition; this one is a number, an amount or a text."),
        ("“粉丝数”本身不是条件：要写明与什么比较。",
         "“Followers” is not a condition by itself: say what it is compared with."),
        _head() + FANS + _fans_rule("account.fans"),
        _head() + FANS + _fans_rule()),
    "P0303": _entry(
        ("参数个数不对", "Wrong number of arguments"),
        ("调用表或内置函数时给的参数个数与它的参数列表不符。",
         "A table or built-in is called with a different number of arguments than it takes."),
        ("多余或缺少的参数意味着查的是另一张表。", "Extra or missing arguments mean a different table was meant."),
        _shop_deposit_table('  row personal: ¥0\n  row enterprise: ¥2000\n  row individual_business: ¥1000\n')
        + 'input shop.kind: account_kind "主体类型" / "Subject kind"\n'
        'input shop.deposit: money "保证金" / "Deposit"\n'
        'rule deposit "保证金" / "Deposit"\n  require shop.deposit >= deposit_for(shop.kind, shop.deposit)\n'
        '    else deny deposit_low "保证金不足" / "Deposit too low"\n  source "doc.txt" quote "保证金标准"\n',
        _shop_deposit_table('  row personal: ¥0\n  row enterprise: ¥2000\n  row individual_business: ¥1000\n')
        + 'input shop.kind: account_kind "主体类型" / "Subject kind"\n'
        'input shop.deposit: money "保证金" / "Deposit"\n'
        'rule deposit "保证金" / "Deposit"\n  require shop.deposit >= deposit_for(shop.kind)\n'
        '    else deny deposit_low "保证金不足" / "Deposit too low"\n  source "doc.txt" quote "保证金标准"\n'),
    "P0304": _entry(
        ("单位不匹配", "Unit mismatch"),
        ("比较两边都是计数，但单位不同，例如粉丝（follower）与视频（video）。",
         "Both sides are counts but of different units, such as followers and videos."),
        ("类型相同不代表量相同；单位让这类错误在检查时就暴露。",
         "The same type is not the same quantity; units expose such mistakes at check time."),
        _head() + 'input account.fans: count "粉丝数" / "Followers" unit follower\n'
        'input account.public_videos: count "公开视频数" / "Public videos" unit video\n'
        + _fans_rule("account.fans >= account.public_videos"),
        _head() + 'input account.fans: count "粉丝数" / "Followers" unit follower\n'
        'input account.public_videos: count "公开视频数" / "Public videos" unit video\n'
        + _fans_rule("account.fans >= 1000 and account.public_videos >= 10")),
    "P0305": _entry(
        ("取值类型与声明不符", "Value type differs from the declaration"),
        ("define 的某个取值与声明的类型不同，例如 count 的取值写成了文本。",
         "A case of a define has another type than declared, for example a text for a count."),
        ("同一个取值在不同日期有不同类型，下游的比较就无法检查。",
         "A value whose type changes by date cannot be checked where it is used."),
        _define_min_fans('  = 1000 from 2020-04-07 until 2022-12-31\n  = "一千" from 2023-01-01\n'),
        _define_min_fans('  = 1000 from 2020-04-07 until 2022-12-31\n  = 500 from 2023-01-01\n')),
    "P0306": _entry(
        ("参数类型不对", "Wrong argument type"),
        ("调用表或内置函数时，某个参数的类型与参数声明不符，例如 days_between 需要日期却给了金额。",
         "An argument has another type than the parameter, for example money where `days_between` wants a date."),
        ("错误类型的参数只会在运行时得到无意义的结果。", "An argument of the wrong type can only give nonsense at run time."),
        _head("demo.refund", "退款", "Refund") + 'input order.paid_on: date "付款日期" / "Payment date"\n'
        'input order.amount: money "订单金额" / "Order amount"\n'
        'rule refund_window "七天退款" / "Seven-day refund"\n  require days_between(order.paid_on, order.amount) <= 7\n'
        '    else deny refund_late "已超过退款期限" / "The refund period is over"\n  source "doc.txt" quote "7天无理由退货"\n',
        _head("demo.refund", "退款", "Refund") + 'input order.paid_on: date "付款日期" / "Payment date"\n'
        'input order.amount: money "订单金额" / "Order amount"\n'
        'rule refund_window "七天退款" / "Seven-day refund"\n  require days_between(order.paid_on, today) <= 7\n'
        '    else deny refund_late "已超过退款期限" / "The refund period is over"\n  source "doc.txt" quote "7天无理由退货"\n'),
    "P0307": _entry(
        ("无法推断类型", "Type cannot be inferred"),
        ("像 `{}` 这样的空集合或独立的枚举值，旁边没有类型已知的值，检查器无法知道它属于哪个类型。",
         "An empty set `{}` or a bare enum value has nothing of known type beside it, so its type is unknown."),
        ("类型未知就无法检查取值是否合法。", "Without a type the values cannot be checked."),
        _head("demo.scenes", "带货场景", "Selling scenes") +
        'rule no_type "无法推断" / "Cannot infer"\n  require live in {}\n'
        '    else deny never "不会发生" / "Never happens"\n  source "doc.txt" quote "带货场景"\n',
        _head("demo.scenes", "带货场景", "Selling scenes") +
        'input account.scenes: set of selling_scene "带货场景" / "Selling scenes"\n'
        'rule live_enabled "开通直播" / "Live enabled"\n  require live in account.scenes\n'
        '    else deny no_live "未开通直播间带货" / "Live selling is not enabled"\n  source "doc.txt" quote "带货场景"\n'),
    # ---- text
    "P0401": _entry(
        ("缺少一种语言的文本", "Missing text in one language"),
        ("中文或英文的一半是空的（或只有空白）；引文 quote 也不能为空。",
         "The Chinese or the English half is empty or blank; a `quote` cannot be empty either."),
        ("空文本在决策和手册里会显示为空白。", "An empty text shows as a blank in decisions and the handbook."),
        _head() + 'input account.fans: count "粉丝数" / ""\n',
        _head() + FANS),
    "P0402": _entry(
        ("中英文占位符不一致", "Placeholders differ between languages"),
        ("提示信息中的 {占位符} 必须在中文和英文里都出现，且相同。",
         "The {placeholders} of a message must appear, the same, in both the Chinese and the English text."),
        ("否则一种语言的用户看不到另一种语言能看到的数值。",
         "Otherwise readers of one language miss a value the other language shows."),
        _head() + FANS + _fans_rule(message='"粉丝数 {account.fans}，不足 1000" / "Fewer than 1000 followers"'),
        _head() + FANS + _fans_rule(message='"粉丝数 {account.fans}，不足 1000" / "{account.fans} followers, fewer than 1000"')),
    "P0403": _entry(
        ("未知的占位符", "Unknown placeholder"),
        ("占位符必须是本政策的输入或 define 的名称（不是中文标签）。",
         "A placeholder names an input or a define of this policy (not its Chinese label)."),
        ("未知的占位符在运行时无法填入数值。", "An unknown placeholder cannot be filled in at run time."),
        _head() + FANS + _fans_rule(message='"粉丝数 {account.fan}，不足 1000" / "{account.fan} followers, fewer than 1000"'),
        _head() + FANS + _fans_rule(message='"粉丝数 {account.fans}，不足 1000" / "{account.fans} followers, fewer than 1000"')),
    "P0404": _entry(
        ("占位符里写了表达式", "An expression in a placeholder"),
        ("占位符 {…} 只写一个输入或取值的名称，不写表达式（也不加空格）。要显示计算结果，先用 define 定义取值，再写它的名称。",
         "A placeholder {…} holds the name of an input or a value, not an expression (and no blanks). To show a "
         "computed result, define a value and name it."),
        ("其他写法不会被填入数值，而是原样显示给用户，例如 “开户 {days_between(a, b)} 天”。",
         "Anything else is not filled in but shown to users verbatim, e.g. \"opened {days_between(a, b)} days ago\"."),
        _head() + FANS + _fans_rule(message='"粉丝数 {account.fans + 1}" / "{account.fans + 1} followers"'),
        _head() + FANS + _fans_rule(message='"粉丝数 {account.fans}" / "{account.fans} followers"')),
    "P0405": _entry(
        ("单位写了两遍", "A unit written twice"),
        ("带单位（`unit`）的计数或数值，其占位符显示数值时已带上单位的标签（“1000 人”“1,000 followers”），"
         "占位符后面不必再写单位。",
         "A placeholder of a count or number with a `unit` prints the value with the unit's label (\"1000 人\", "
         "\"1,000 followers\"): the text need not write the unit after it."),
        ("再写一遍，用户会读到“999 人 人”或“999 followers followers”。",
         "Written again, users read \"999 人 人\" or \"999 followers followers\"."),
        _head() + FANS_UNIT + _fans_rule(message='"粉丝数 {account.fans} 人，不足 1000 人" / "{account.fans}, fewer than 1000 followers"'),
        _head() + FANS_UNIT + _fans_rule(message='"粉丝数 {account.fans}，不足 1000 人" / "{account.fans}, fewer than 1000 followers"')),
    # ---- tables
    "P0501": _entry(
        ("表有空档", "Table gap"),
        ("区间行没有覆盖参数的全部取值，提示会给出未覆盖的区间。",
         "The interval rows leave some values of the parameter uncovered; the message names the gap."),
        ("落在空档中的事实在运行时找不到行，决策失败。", "A fact in the gap finds no row at run time and the decision fails."),
        _days_table('  row [0, 90]: 14\n  row [100, inf): 7\n'),
        _days_table('  row [0, 90]: 14\n  row (90, inf): 7\n')),
    "P0502": _entry(
        ("unique 表的行重叠", "Rows overlap under `hit unique`"),
        ("命中策略为 unique（默认）时，两行的区间不能有公共值；边界值常常被写进两行。",
         "Under hit policy unique (the default) no value may fall in two rows; a bound is often written into both."),
        ("重叠时同一事实对应两个结果，规则的本意不明确。",
         "With an overlap one fact has two results and the rule's intent is unclear."),
        _days_table('  row [0, 90]: 14\n  row [91, 180]: 10\n  row [180, inf): 7\n'),
        _days_table('  row [0, 90]: 14\n  row [91, 180]: 10\n  row (180, inf): 7\n')),
    "P0503": _entry(
        ("矩阵表缺少单元格", "Matrix table is missing cells"),
        ("两个枚举参数的矩阵表必须为每个枚举值组合给出一个单元格（可以写 not_open 或 not_stated）。",
         "A matrix over two enums needs a cell for every pair of values (`not_open` or `not_stated` are allowed)."),
        ("缺的组合在运行时没有答案。", "A missing pair has no answer at run time."),
        _scene_table("live, showcase", '  row official: true, true\n  row authorised: true, false\n'
                     '  row creator: true, true\n'),
        _scene_table("live, showcase, short_video", '  row official: true, true, true\n'
                     '  row authorised: true, false, false\n  row creator: true, true, true\n')),
    "P0504": _entry(
        ("区间上下界颠倒", "Interval bounds reversed"),
        ("区间写成了从大到小，例如 [180, 91]。", "The interval is written high to low, such as [180, 91]."),
        ("颠倒的区间不包含任何值，那一行永远用不上。", "A reversed interval contains nothing, so its row is never used."),
        _days_table('  row [0, 90]: 14\n  row [180, 91]: 10\n  row [91, inf): 7\n'),
        _days_table('  row [0, 90]: 14\n  row [91, inf): 7\n')),
    "P0505": _entry(
        ("命中策略不适用", "Hit policy does not suit the table"),
        ("`hit collect sum|min|max` 要把多行结果合成一个数，只适用于数值（count、number、money、percent）表。",
         "`hit collect sum|min|max` combines several rows into one number and suits only numeric tables."),
        ("文本或布尔值无法求和或取最大值。", "Texts and booleans cannot be summed or maximised."),
        _head("demo.refunds", "退款率", "Refund rate") +
        'table refund_level(rate: percent) -> text "退款率等级" / "Refund-rate level"\n  hit collect sum\n'
        '  row [0%, 5%]: "正常"\n  row (5%, inf): "偏高"\n',
        _head("demo.refunds", "退款率", "Refund rate") +
        'table refund_level(rate: percent) -> text "退款率等级" / "Refund-rate level"\n'
        '  row [0%, 5%]: "正常"\n  row (5%, inf): "偏高"\n'),
    "P0506": _entry(
        ("行键重复", "Row key repeated"),
        ("同一个枚举值在表中作为行键（或列名）出现了两次。", "One enum value keys two rows (or names two columns)."),
        ("两行同键时无法知道哪个结果才对。", "With two rows for one key, nobody can tell which result is meant."),
        _shop_deposit_table('  row personal: ¥0\n  row enterprise: ¥2000\n  row individual_business: ¥1000\n'
                            '  row enterprise: ¥5000\n'),
        _shop_deposit_table('  row personal: ¥0\n  row enterprise: ¥2000\n  row individual_business: ¥1000\n')),
    "P0507": _entry(
        ("行的单元格数与列数不符", "Row width differs from the header"),
        ("矩阵表的每一行要按 columns 的顺序给出同样多的单元格。",
         "Each row of a matrix gives as many cells as `columns` names, in that order."),
        ("少一个单元格时，后面的值会对错列。", "With a cell missing, later values would land in the wrong column."),
        _scene_table("live, showcase, short_video", '  row official: true, true, true\n'
                     '  row authorised: true, false\n  row creator: true, true, true\n'),
        _scene_table("live, showcase, short_video", '  row official: true, true, true\n'
                     '  row authorised: true, false, false\n  row creator: true, true, true\n')),
    "P0508": _entry(
        ("行形式与参数不符", "Rows do not fit the parameters"),
        ("单个数值参数用区间行，单个枚举参数用 `row 值: …`，两个枚举参数用 columns 矩阵。",
         "One numeric parameter takes interval rows, one enum takes `row VALUE: …`, two enums take a `columns` "
         "matrix."),
        ("区间不能描述枚举，枚举值也不能描述区间。", "Intervals cannot describe an enum, nor enum values a range."),
        _shop_deposit_table('  row [0, 1000]: ¥0\n  row (1000, inf): ¥2000\n'),
        _shop_deposit_table('  row personal: ¥0\n  row enterprise: ¥2000\n  row individual_business: ¥1000\n')),
    "P0509": _entry(
        ("永远用不上的行", "Row never used"),
        ("命中策略为 first 或 priority 时，这一行的每个值都先命中了更早的行（或优先级更高的行，同优先级时更早的行），"
         "这一行永远不会被使用（警告）。只被部分覆盖的行不报告：这两种策略允许重叠。",
         "Under hit first or priority every value of this row is matched first by earlier rows (or rows of higher "
         "priority, or of equal priority written earlier), so the row is never used (a warning). A row only partly "
         "covered is not reported: these hit policies allow overlaps."),
        ("用不上的行通常说明行的顺序或区间写错了，作者以为它生效，其实没有。",
         "An unreachable row usually means the order or the bounds are wrong: the author thinks it applies, but it "
         "never does."),
        _days_table('  hit first\n  row [0, 180]: 14\n  row [91, 180]: 10\n  row (180, inf): 7\n'),
        _days_table('  hit first\n  row [91, 180]: 10\n  row [0, 180]: 14\n  row (180, inf): 7\n')),
    "P0510": _entry(
        ("单元格不是写明的值", "Cell is not a value written out"),
        ("表的每个单元格都是一个常量：日期、数字、金额、百分比、文本、枚举值或枚举值集合（或 not_open / not_stated）。"
         "`today` 随评估日期变化，不能作为单元格。",
         "Every cell of a table is a constant: a date, number, amount, percentage, text, enum value or set of enum "
         "values (or not_open / not_stated). `today` changes with the evaluation date and cannot be a cell."),
        ("表格在手册中按原样列出，并由求解器逐格分析；单元格必须是读者和工具都能看到的值。",
         "Tables are printed as written in the handbook and analysed cell by cell by the solver; a cell must be a "
         "value both readers and tools can see."),
        _head("demo.deadline", "截止日期", "Deadline") +
        'table deadline(day: count) -> date "截止日期" / "Deadline"\n  row [0, 1]: today\n  row (1, inf): 2024-01-01\n',
        _head("demo.deadline", "截止日期", "Deadline") +
        'table deadline(day: count) -> date "截止日期" / "Deadline"\n  row [0, 1]: 2023-12-31\n  row (1, inf): 2024-01-01\n'),
    # ---- time
    "P0601": _entry(
        ("生效区间无效", "Invalid effective period"),
        ("`effective from A until B` 中开始日期晚于结束日期（define 的 from/until 也一样）。",
         "In `effective from A until B` the start is after the end (the same for a define case's from/until)."),
        ("这样的规则永远不会生效。", "Such a rule is never in force."),
        _head() + REAL + _real_rule('  effective from 2023-01-01 until 2022-12-31\n'),
        _head() + REAL + _real_rule('  effective from 2022-01-01 until 2022-12-31\n')),
    "P0602": _entry(
        ("生效期重叠", "Periods overlap"),
        ("被取代的规则与取代它的规则、或 define 的两个带日期取值，在同一段时间内同时生效。",
         "A superseded rule and its successor, or two dated cases of a define, are in force at the same time."),
        ("新旧规定同时生效时，结果取决于书写顺序而不是规定本身。",
         "With old and new rules in force together, the outcome depends on writing order, not on the rules."),
        _supersede("2023-06-30"),
        _supersede("2022-12-31")),
    "P0603": _entry(
        ("灰度阶段无效", "Invalid rollout phase"),
        ("灰度的各阶段要首尾相接（后一阶段在前一阶段结束的次日开始），比例不能下降或超过 100%。",
         "Rollout phases follow each other day by day, and the ramp neither falls nor exceeds 100%."),
        ("阶段之间的空档或倒退会让账号在灰度中忽进忽出。",
         "A gap or a step back between phases would move accounts in and out of the rollout."),
        _rollout("2023-12-15"),
        _rollout("2023-12-11")),
    "P0604": _entry(
        ("例外关系成环", "Exceptions form a cycle"),
        ("规则 A 是 B 的例外，而 B（直接或间接）又是 A 的例外。",
         "Rule A is an exception to B while B is, directly or not, an exception to A."),
        ("成环时无法决定哪条规则优先。", "In a cycle no rule can take precedence."),
        _exceptions("2", cycle=True),
        _exceptions("2")),
    "P0604.values": _entry(
        ("取值循环依赖", "Values depend on each other"),
        ("两个（或更多）define 的取值互相引用，形成循环（报告为 P0604）。",
         "Two or more defines refer to each other in a cycle (reported as P0604)."),
        ("循环的取值无法计算。", "Values in a cycle cannot be computed."),
        _head() + 'define cart.min_fans: count "粉丝门槛" / "Follower threshold"\n  = cart.base_fans + 500\n' + SRC +
        'define cart.base_fans: count "基础粉丝数" / "Base followers"\n  = cart.min_fans - 500\n' + SRC,
        _head() + 'define cart.min_fans: count "粉丝门槛" / "Follower threshold"\n  = cart.base_fans + 500\n' + SRC +
        'define cart.base_fans: count "基础粉丝数" / "Base followers"\n  = 500\n' + SRC,
        reported_as="P0604"),
    "P0605": _entry(
        ("例外优先级相同", "Exceptions share a priority"),
        ("同一条规则的多个例外用了相同的 priority，两者同时适用时无法决定先后。",
         "Several exceptions to one rule have the same `priority`; when both apply, their order is undecided."),
        ("例外的先后决定了决策理由，必须明确。", "The order of exceptions decides the reason given, so it must be explicit."),
        _exceptions("1"),
        _exceptions("2")),
    "P0606": _entry(
        ("取代之间有空档", "Gap between superseded rules"),
        ("规则取代另一条规则，但旧规则结束与新规则开始之间有一段时间两者都不生效（警告）。",
         "A rule supersedes another, but between the old rule's end and the new one's start neither is in force "
         "(a warning)."),
        ("空档期内该规定不被执行，这通常是日期写错了。", "The rule is not enforced during the gap, usually a date typo."),
        _supersede("2022-06-30"),
        _supersede("2022-12-31")),
    "P0607": _entry(
        ("灰度达不到 100%", "Rollout never reaches 100%"),
        ("灰度的最后一个阶段在结束时没有升到 100%，之后一部分账号永远不受约束（警告）。",
         "The last phase of a rollout ends below 100%, so some ids are never covered after it (a warning)."),
        ("原文说“全部覆盖”时，停在半途会让部分账号永远不受规则约束。",
         "When the source says every account is covered, a ramp that stops halfway leaves some accounts out forever."),
        _head() + 'input account.id: text "账号" / "Account"\n'
        'rollout r "灰度" / "Rollout" key account.id\n'
        '  phase pilot "内测" / "Pilot" from 2024-01-01 until 2024-01-31 ramp 0% to 80%\n',
        _head() + 'input account.id: text "账号" / "Account"\n'
        'rollout r "灰度" / "Rollout" key account.id\n'
        '  phase pilot "内测" / "Pilot" from 2024-01-01 until 2024-01-31 ramp 0% to 100%\n'),
    "P0608": _entry(
        ("取值在生效期内有空档", "Value has a gap within the policy's period"),
        ("define 的情形都带日期且没有 when，但在政策的生效期内有些日子没有任何情形生效（警告）。",
         "Every case of a define is dated and unconditional, yet on some days of the policy's period none is in "
         "force (a warning)."),
        ("在这些日子评估读取它的规则会失败（找不到适用的情形）。",
         "Evaluating a rule that reads it on those days fails: no case applies."),
        _head(extra="  effective from 2020-04-07\n") + FANS + '\n'
        'define cart.min_fans: count "粉丝门槛" / "Follower threshold"\n'
        '  = 1000 from 2020-04-07 until 2022-12-31\n  = 500 from 2023-02-01\n  source "doc.txt" quote "1000粉丝"\n',
        _head(extra="  effective from 2020-04-07\n") + FANS + '\n'
        'define cart.min_fans: count "粉丝门槛" / "Follower threshold"\n'
        '  = 1000 from 2020-04-07 until 2022-12-31\n  = 500 from 2023-01-01\n  source "doc.txt" quote "1000粉丝"\n'),
    "P0609": _entry(
        ("规则的生效期超出政策", "Rule in force outside its policy"),
        ("规则写明的生效期有一部分（或全部）在政策的生效期之外（警告）。",
         "Part (or all) of a rule's stated effective period lies outside its policy's effective period (a warning)."),
        ("政策生效期之外不能评估，那些日子规则永远不会生效；通常是日期写错了。",
         "A policy cannot be evaluated outside its period, so the rule never applies on those days; usually a date "
         "typo."),
        _head(extra="  effective from 2020-04-07\n") + FANS +
        _fans_rule().replace("  require", "  effective from 2019-04-07 until 2022-12-31\n  require", 1),
        _head(extra="  effective from 2020-04-07\n") + FANS +
        _fans_rule().replace("  require", "  effective from 2020-04-07 until 2022-12-31\n  require", 1)),
    # ---- provenance
    "P0701": _entry(
        ("找不到来源文件", "Source document not found"),
        ("`source \"文件名\"` 指向的文件不在 --sources 文件夹中。",
         "The document named by `source \"FILE\"` is not in the `--sources` folder."),
        ("每条规则都要能追溯到原文；找不到文件就无法核对。",
         "Every rule must trace back to its source; a missing document cannot be checked."),
        _head() + REAL + _real_rule(source='  source "rules-2023.txt" quote "完成实名认证"\n'),
        _head() + REAL + _real_rule(source='  source "notice.txt" quote "完成实名认证"\n'),
        check="sources", documents=NOTICE),
    "P0702": _entry(
        ("引文不是逐字原文", "Quote is not verbatim"),
        ("quote 里的文字没有逐字出现在来源文件中；提示会给出文件中最接近的原文。",
         "The quoted words do not occur verbatim in the document; the hint shows the closest text it has."),
        ("改写过的引文无法证明规则确有依据。", "A paraphrased quote cannot prove the rule is grounded in the source."),
        _head() + FANS + _fans_rule(source='  source "notice.txt" quote "1000粉丝且已发布10个公开原创视频"\n'),
        _head() + FANS + _fans_rule(source='  source "notice.txt" quote "1000粉丝且已发布10个以上公开原创视频"\n'),
        check="sources", documents=NOTICE),
    "P0707": _entry(
        ("来源文件在来源文件夹之外", "Source document outside the sources folder"),
        ("`source \"文件名\"` 必须是来源文件夹里的文件：不能是绝对路径、不能含 `..`，也不能是指向文件夹外的符号链接。"
         "检查器不会读取、也不会显示这样的文件。",
         "The document named by `source \"FILE\"` must be a file inside the sources folder: no absolute path, "
         "no `..`, no symlink leading out. The checker neither reads nor shows such a file."),
        ("政策文件可能来自不受信任的合并请求；若引用可以指向任意文件，核对引文就会泄露机器上的文件内容。",
         "Policy files may come from an untrusted pull request; if a citation could name any file, verifying "
         "its quote would disclose the machine's files."),
        _head() + REAL + _real_rule(source='  source "../notice.txt" quote "完成实名认证"\n'),
        _head() + REAL + _real_rule(source='  source "notice.txt" quote "完成实名认证"\n'),
        check="sources", documents=NOTICE),
    "P0708": _entry(
        ("来源文件无法作为文本读取", "Source document unreadable as text"),
        ("来源文件必须是 UTF-8 编码的普通文本文件，且不超过 16 MiB；这里它是其他编码、不是普通文件或太大。",
         "A source document must be a plain UTF-8 text file of at most 16 MiB; this one is in another encoding, "
         "not a regular file, or too large."),
        ("只有能逐字读取的原文才能核对引文。", "Only a document that can be read verbatim can prove a quote."),
        _head() + REAL + _real_rule(source='  source "notice-gbk.txt" quote "完成实名认证"\n'),
        _head() + REAL + _real_rule(source='  source "notice.txt" quote "完成实名认证"\n'),
        check="sources", documents={**NOTICE, "notice-gbk.txt": ("gbk", NOTICE_TEXT)}),
    "P0703": _entry(
        ("规则没有引用来源", "Rule cites no source"),
        ("每条规则都要至少有一个 `source \"文件\" quote \"原文\"`。",
         "Every rule needs at least one `source \"FILE\" quote \"VERBATIM TEXT\"`."),
        ("没有出处的规则无法审核，也无法在原文变化时找到。",
         "A rule without a source cannot be audited, nor found when the source changes."),
        _head() + REAL + _real_rule(source=""),
        _head() + REAL + _real_rule()),
    "P0704": _entry(
        ("政策缺少 title", "Policy without a title"),
        ("`policy 编号` 之后必须紧跟 `title \"中文\" / \"English\"`。",
         "`policy ID` must be followed by `title \"中文\" / \"English\"`."),
        ("标题是手册和决策输出中政策的名字。", "The title names the policy in the handbook and in decisions."),
        'policy demo.cart\n  implements R000.1\n',
        _head(extra="  implements R000.1\n"),
        reported_as="P0101"),
    "P0705": _entry(
        ("不是来源清单编号", "Not an inventory id"),
        ("implements 与 about 中的编号必须形如 R000.1（R、三位数字、点、序号）。",
         "Ids in `implements` and `about` look like R000.1 (R, three digits, a dot, a number)."),
        ("编号把规则与来源清单对应起来；格式不对就无法追溯。",
         "Ids tie rules to the source inventory; a malformed id cannot be traced."),
        _head(extra="  implements R1.1\n"),
        _head(extra="  implements R001.1\n"),
        reported_as="P0101"),
    "P0706": _entry(
        ("编号不在 implements 中", "Id not among the policy's `implements`"),
        ("规则、假设或说明引用的编号没有列在政策头部的 implements 中。",
         "A rule, assumption or note cites an id that the policy header does not list in `implements`."),
        ("政策头部的 implements 是追溯表的依据；漏列的编号不会出现在追溯表里。",
         "The header's `implements` feeds the traceability table; an id missing there never shows up in it."),
        _head(extra="  implements R000.1\n") + REAL + _real_rule("  implements R000.2\n"),
        _head(extra="  implements R000.1, R000.2\n") + REAL + _real_rule("  implements R000.2\n")),
    # ---- properties
    "P0801": _entry(
        ("`outcome` / `fires` 只属于 property", "`outcome` / `fires` belong to properties"),
        ("规则、取值或表格里用了 `outcome`、`allow`/`deny` 或 `fires(规则)`；这些词说的是决策的结果，只能写在 property 的 when / expect 中。",
         "A rule, value or table uses `outcome`, `allow`/`deny` or `fires(RULE)`; these words speak of the decision's result and may only appear in the `when` or `expect` of a property."),
        ("决策由规则得出；规则若读取决策本身，结果就会循环定义。property 则是对决策的断言，由 `policydsl verify` 证明。",
         "The decision is made from the rules; a rule reading the decision would define it in a circle. A property is a claim about the decision, proved by `policydsl verify`."),
        _head() + REAL + _real_rule().replace("require account.real_name", "require account.real_name or fires(real_name)"),
        _head() + REAL + _real_rule() + '\nproperty unverified_denied "未实名即拒绝" / "Unverified accounts are denied"\n'
        '  when not account.real_name\n  expect outcome == deny and fires(real_name)\n'),
    "P0802": _entry(
        ("决策结果只有 allow 和 deny", "An outcome is allow or deny"),
        ("property 把 `outcome` 与 `warn` 比较；决策的结果只有 allow 和 deny，警告记在 warnings 里。",
         "A property compares `outcome` with `warn`; a decision's outcome is allow or deny, and warnings are listed apart."),
        ("`outcome == warn` 永远不成立，这样的断言没有意义；要问某条警告是否给出，用 fires(规则)。",
         "`outcome == warn` never holds, so such a claim says nothing; to ask whether a warning was given, use fires(RULE)."),
        _head() + REAL + _real_rule() + '\nproperty warned "出现警告" / "Warned"\n  expect outcome == warn\n',
        _head() + REAL + _real_rule() + '\nproperty denied_reason "拒绝时给出原因" / "A denial names its rule"\n'
        '  when outcome == deny\n  expect fires(real_name)\n'),
    "P0803": _entry(
        ("整本规则书的 property 须指明政策", "A book property names its policies"),
        ("写在任何 policy 之外（共享文件中）的 property 是整本规则书的 property，说的是多条政策对同一条记录、同一天的决策；其中裸写的 `outcome` 或 `fires(规则)` 不知道指哪条政策。",
         "A property outside any policy (in a shared file) is a book property: it speaks of several policies' decisions on one record and day, so a bare `outcome` or `fires(RULE)` there does not say which policy it means."),
        ("写 outcome(政策) 与 fires(政策, 规则)；若断言只关乎一条政策，把它写进那条政策里。",
         "Write outcome(POLICY) and fires(POLICY, RULE); when the claim concerns one policy only, write it inside that policy."),
        'property denied "有时拒绝" / "Sometimes denied"\n  expect outcome == deny\n',
        _head() + REAL + _real_rule() + '\nproperty denied "未实名即拒绝" / "Unverified accounts are denied"\n'
        '  when not account.real_name\n  expect outcome == deny\n'),
    "P0804": _entry(
        ("政策内的 property 不指明政策", "A policy's property names no policy"),
        ("政策内的 property 用了 outcome(政策) 或 fires(政策, 规则)；它只谈本政策的决策。",
         "A property inside a policy uses outcome(POLICY) or fires(POLICY, RULE); it speaks of its own policy's decision only."),
        ("指明政策的写法属于整本规则书的 property（写在共享文件中，如 policies/book.policy），由 verify 在所有被指明的政策同时生效的记录和日期上证明。",
         "Naming policies belongs to book properties (in a shared file such as policies/book.policy), which verify proves on every record and day where all the named policies are in force."),
        _head() + REAL + _real_rule() + '\nproperty denied "未实名即拒绝" / "Unverified accounts are denied"\n'
        '  when not account.real_name\n  expect outcome(demo.cart) == deny\n',
        _head() + REAL + _real_rule() + '\nproperty denied "未实名即拒绝" / "Unverified accounts are denied"\n'
        '  when not account.real_name\n  expect outcome == deny\n'),
    # ---- overlaps: two policies answering one question
    "P0805": _entry(
        ("overlap 写在了政策里", "An overlap inside a policy"),
        ("overlap 说两条政策回答同一个问题；它属于整本规则书，要写在共享文件中（任何 policy 之外）。",
         "An overlap says two policies answer one question; it belongs to the whole book, in a shared file (outside any policy)."),
        ("写在某条政策里，读者会以为它只关乎那条政策；两条政策的冲突不偏向任何一方。",
         "Inside one policy, readers would take it to concern that policy only; a conflict between two policies sides with neither."),
        "# file: book.policy\n" + VOCAB_FANS + "\n# file: a.policy\n" + _fans_policy("demo.a", "甲", "A", 1000, "\n" + _question())
        + "\n# file: b.policy\n" + _fans_policy("demo.b", "乙", "B", 500),
        _overlap_example(_question())),
    "P0806": _entry(
        ("overlap 两次写了同一条政策", "An overlap naming one policy twice"),
        ("between 的两侧是同一条政策；overlap 比较的是两条不同的政策。",
         "Both sides of `between` are the same policy; an overlap compares two different policies."),
        ("一条政策与自己不会冲突；多半是把另一条政策的 id 写错了。",
         "A policy cannot conflict with itself; most likely the other policy's id is mistyped."),
        _overlap_example(_question(between="demo.a and demo.a")),
        _overlap_example(_question())),
    "P0807": _entry(
        ("prevails 指向了不相干的政策", "`prevails` names a policy the overlap does not compare"),
        ("overlap 的 prevails 必须是 between 中的两条政策之一。",
         "The policy an overlap says prevails must be one of the two in its `between`."),
        ("冲突只在这两条政策之间；说第三条政策优先没有意义。",
         "The conflict is between these two policies only; saying a third one prevails means nothing."),
        _overlap_example(_question("prevails demo.c because why"), a_extra=WHY, c=True),
        _overlap_example(_question("prevails demo.a because why"), a_extra=WHY, c=True)),
    "P0808": _entry(
        ("冲突的处理缺少理由", "A resolution whose reason is missing"),
        ("overlap 写了 prevails 或 known conflict，because 后面的名字却不是两条政策中任何一条 assume 的名字。",
         "The overlap says `prevails` or `known conflict`, but the name after `because` is no assume of either policy."),
        ("哪份文档优先是一项判断，必须写明依据（引用两份文档的原文），读者和审阅者才能检查它。",
         "Which document prevails is a judgement: it must be written down with its grounds (quoting both documents) so that readers and reviewers can check it."),
        _overlap_example(_question("known conflict because why")),
        _overlap_example(_question("known conflict because why"), a_extra=WHY)),
    "P0809": _entry(
        ("冲突的理由写错了政策", "The reason for a resolution is in another policy"),
        ("because 指向的 assume 写在了第三条政策里；它应写在被比较的两条政策之一。",
         "The assume named after `because` is in a third policy; it belongs in one of the two policies compared."),
        ("手册在被比较的政策页面上展示这项判断；写在别处，读者就找不到它。",
         "The handbook shows the judgement on the pages of the policies compared; anywhere else readers will not find it."),
        _overlap_example(_question("prevails demo.a because why"), c="assume"),
        _overlap_example(_question("prevails demo.a because why"), a_extra=WHY, c=True)),
    "P0810": _entry(
        ("overlap 提到了第三条政策", "An overlap mentioning a third policy"),
        ("overlap 的 when 或 agree 提到了 between 之外的政策（它的结果、规则或取值）。",
         "An overlap's `when` or `agree` mentions a policy outside its `between` (its outcome, a rule or a value)."),
        ("overlap 说的是两条政策之间的一致与冲突；涉及更多政策的断言请写成整本规则书的 property。",
         "An overlap speaks of agreement between two policies; claims about more policies are book properties."),
        _overlap_example(_question(agree="outcome(demo.a) == outcome(demo.c)"), c=True),
        _overlap_example(_question(agree="outcome(demo.a) == outcome(demo.b)"), c=True)),
    # ---- solver analyses (`check --deep`)
    "P0610": _entry(
        ("规则永远不会触发", "A rule that can never fire"),
        ("求解器证明：在规则与政策的生效期内，没有任何一组事实能让这条规则给出结论，通常是 when 与 require 互相矛盾，或 when 只在生效期之外成立。",
         "The solver proved that no facts on any day of the rule's and the policy's period make this rule give its reason; usually its `when` contradicts its `require`, or its `when` only holds outside its period."),
        ("永远不触发的规则是死代码：读者以为它在保护什么，其实什么也没有检查。",
         "A rule that never fires is dead code: readers believe it guards something, yet it checks nothing."),
        _head() + FANS + '\nrule fans "粉丝门槛" / "Follower threshold"\n  when account.fans >= 1000\n'
        '  require account.fans >= 500\n    else deny fans_low "粉丝不足" / "Too few followers"\n' + SRC,
        _head() + FANS + '\nrule fans "粉丝门槛" / "Follower threshold"\n'
        '  require account.fans >= 1000\n    else deny fans_low "粉丝不足" / "Too few followers"\n' + SRC,
        deep=True),
    "P0611": _entry(
        ("例外永远不会生效", "An exception that never takes effect"),
        ("例外只在被例外的规则也适用时才起作用；求解器证明两者的 when 条件从不同时成立。",
         "An exception acts only when the rule it overrides applies too; the solver proved their `when` conditions never hold together."),
        ("这样的例外看似放宽了规则，实际从未放宽任何情形。",
         "Such an exception looks like it relaxes the rule, yet it never relaxes anything."),
        _head() + KIND + FANS + '\nrule fans "粉丝门槛" / "Follower threshold"\n  when account.kind == personal\n'
        '  require account.fans >= 1000\n    else deny fans_low "粉丝不足" / "Too few followers"\n' + SRC +
        '\nrule exempt "豁免" / "Exemption"\n  exception to fans\n  when account.kind == enterprise\n'
        '  allow exempt "豁免" / "Exempt"\n' + SRC,
        _head() + KIND + FANS + '\nrule fans "粉丝门槛" / "Follower threshold"\n  when account.kind == personal\n'
        '  require account.fans >= 1000\n    else deny fans_low "粉丝不足" / "Too few followers"\n' + SRC +
        '\nrule exempt "豁免" / "Exemption"\n  exception to fans\n  when account.business_licence\n'
        '  allow exempt "豁免" / "Exempt"\n' + SRC,
        deep=True),
    "P0612": _entry(
        ("allow 与 deny 同时触发", "An allow that fires with a deny"),
        ("一条 allow 规则与一条或多条 deny 规则会对同一组事实同时触发；此时结果为拒绝，allow 的说明不会出现在决策里。这是信息，不算问题。",
         "An allow rule fires together with one or more deny rules for the same facts; the outcome is then deny and the allow's message is not shown. This is a note, not a problem."),
        ("deny 优先是设计好的组合规则，但作者常以为 allow 只在一切条件满足时才说话；给出的例子说明并非如此。",
         "Deny winning is the designed combining rule, but authors often think the allow speaks only when everything else is met; the example shows otherwise."),
        _head() + REAL + FANS + _real_rule() + '\nrule welcome "欢迎" / "Welcome"\n  when account.fans >= 1000\n'
        '  allow welcome "欢迎开通" / "Welcome"\n' + SRC,
        _head() + REAL + FANS + _real_rule() + '\nrule welcome "欢迎" / "Welcome"\n'
        '  when account.fans >= 1000 and account.real_name\n  allow welcome "欢迎开通" / "Welcome"\n' + SRC,
        deep=True),
    "P0620": _entry(
        ("两条政策冲突", "Two policies conflict"),
        ("overlap 说两条政策回答同一个问题；求解器找到一条记录和一天，两条政策都生效、适用并作出决定，却不一致（结果不同，或 agree 不成立），并用真实的整本规则书决定确认了它。",
         "An overlap says two policies answer one question; the solver found a record and a day where both are in force, apply and decide, yet disagree (different outcomes, or the `agree` fails), and the real whole-book decision confirmed it."),
        ("两份文档说法不同时，必须有人决定以哪一份为准并写下理由；否则调用方会从两条政策得到相反的答案。",
         "When two documents say different things someone must decide which prevails and write down why; otherwise callers get opposite answers from the two policies."),
        _overlap_example(_question()),
        _overlap_example(_question(), b=1000),
        deep=True),
    "P0621": _entry(
        ("冲突已按一份文档处理", "A conflict resolved in favour of one document"),
        ("两条政策确实冲突，overlap 写了以哪条政策为准，assume 说明了理由。这是信息，`check --deep` 总会列出它和一条确认过的例子。",
         "The two policies do conflict, and the overlap says which prevails, with an assume saying why. This is a note; `check --deep` always lists it with a confirmed example."),
        ("把每一处文档之间的冲突和它的处理放在一起列出，审阅者可以逐条复核。",
         "Listing every conflict between documents with its resolution lets reviewers check each one."),
        _overlap_example(_question("prevails demo.a because why"), a_extra=WHY),
        _overlap_example(_question(), b=1000),
        deep=True),
    "P0622": _entry(
        ("已知冲突", "A known conflict"),
        ("两条政策确实冲突，overlap 写了 known conflict，assume 说明了为什么文档本身无法决定。这是信息，`check --deep` 总会列出它。",
         "The two policies do conflict, and the overlap keeps it as a known conflict, with an assume saying why the documents cannot decide it. This is a note; `check --deep` always lists it."),
        ("有些冲突只能由平台澄清；记录下来比悄悄选一边更诚实。",
         "Some conflicts only the platform can settle; recording one is more honest than silently taking a side."),
        _overlap_example(_question("known conflict because why"), a_extra=WHY),
        _overlap_example(_question(), b=1000),
        deep=True),
    "P0623": _entry(
        ("处理了一个不存在的冲突", "A resolution for a conflict that does not exist"),
        ("overlap 写了 prevails 或 known conflict，但求解器证明两条政策在它谈到的每条记录、每一天上都一致。",
         "The overlap says `prevails` or `known conflict`, yet the solver proved the two policies agree on every record and day it speaks of."),
        ("多半是文档或编码改了，冲突已经消失；过时的处理会误导读者。",
         "Most likely a document or the encoding changed and the conflict is gone; a stale resolution misleads readers."),
        _overlap_example(_question("known conflict because why"), b=1000, a_extra=WHY),
        _overlap_example(_question(), b=1000),
        deep=True),
    "P0624": _entry(
        ("标签相同的两个取值不一致", "Two values with one label that differ"),
        ("两条政策各自计算一个取值，类型与标签（中文或英文）相同，求解器却找到一条记录，两者的值不同。",
         "Two policies each compute a value of one type and one label (Chinese or English), yet the solver found a record where they differ."),
        ("同一个名字应当是同一个概念；若是同一个概念，两份文档就冲突了，需要一个 overlap 决定以谁为准；若不是，应该换个名字。",
         "One name should be one concept: if it is, the two documents conflict and an overlap must decide which prevails; if it is not, one of them needs another name."),
        "# file: a.policy\n" + _head("demo.a", "甲", "A") + 'define a.min_fans: count "粉丝门槛" / "Follower threshold"\n  = 1000\n'
        '  source "doc.txt" quote "1000粉丝"\n\n# file: b.policy\n' + _head("demo.b", "乙", "B")
        + 'define b.min_fans: count "粉丝门槛" / "Follower threshold"\n  = 500\n  source "doc.txt" quote "500粉丝"\n',
        "# file: a.policy\n" + _head("demo.a", "甲", "A") + 'define a.min_fans: count "开通粉丝门槛" / "Opening follower threshold"\n  = 1000\n'
        '  source "doc.txt" quote "1000粉丝"\n\n# file: b.policy\n' + _head("demo.b", "乙", "B")
        + 'define b.min_fans: count "入驻粉丝门槛" / "Entry follower threshold"\n  = 500\n  source "doc.txt" quote "500粉丝"\n',
        deep=True),
    "P0626": _entry(
        ("两条政策被证明一致", "Two policies proved to agree"),
        ("求解器证明：overlap 的两条政策在它谈到的每条记录、每一天上都一致（也可能是它们从不同时生效）。这是信息，`check --deep --info` 列出它。",
         "The solver proved the overlap's two policies agree on every record and day it speaks of (possibly because they are never in force together). This is a note, listed by `check --deep --info`."),
        ("声明过的 overlap 被证明没有冲突，说明这个问题已经检查过；将来某份文档或编码变了，冲突会重新出现为警告。",
         "A declared overlap proved free of conflict shows the question was checked; if a document or the encoding changes later, a conflict comes back as a warning."),
        _overlap_example(_question(), b=1000),
        _overlap_example("", b=1000),
        deep=True),
    "P0625": _entry(
        ("整本规则书的决定违背了冲突的处理", "A resolution the whole-book decision does not carry out"),
        ("overlap 说以某条政策为准，但求解器找到一条冲突的记录：那条政策允许，另一条拒绝；整本规则书 deny 优先，最终仍是拒绝。",
         "The overlap says one policy prevails, yet the solver found a conflicting record where that policy allows and the other denies; the whole book lets deny override, so it still denies."),
        ("写下的优先顺序要在决定里生效：在另一条政策中用 applies when 或例外把这些记录排除。",
         "A written order of precedence must take effect in decisions: leave those records out of the other policy with an `applies when` or an exception."),
        _overlap_example(_question("prevails demo.b because why"), b_extra=WHY),
        _overlap_example(_question(), b=1000),
        deep=True),
}


def explanation_codes() -> list[str]:
    """Every code the catalogue explains, in catalogue order."""
    return list(EXPLANATIONS)


def _shortened(text: str, lang: str, shown: int = 24) -> str:
    """An example of more than `shown` lines (P0124's thousands of rules) as its first lines and how many follow."""
    lines = text.rstrip("\n").split("\n")
    if len(lines) <= shown + 1:
        return text
    return "\n".join(lines[:shown] + [s("more_lines", lang, lines=f"{len(lines) - shown:,}")])


def _indent(text: str) -> str:
    return "\n".join(("    " + line) if line else "" for line in text.rstrip("\n").split("\n"))


def message(code: str, lang: str) -> str:
    return i18n.t(code, lang)


def render_explanation(code: str, lang: str) -> str:
    """The long explanation of `code` in `lang`: title, one-line message, what, why, wrong, right."""
    entry = EXPLANATIONS[code]
    colon = s("colon", lang)
    out = [f"{code} {entry['title'][lang]}", f"  {message(code, lang)}", "",
           f"{s('what', lang)}{colon}{entry['what'][lang]}", f"{s('why', lang)}{colon}{entry['why'][lang]}", ""]
    documents = entry.get("documents")
    if documents:
        out.append(s("documents", lang) + colon.rstrip())
        for name, text in documents.items():  # (encoding, text): a document saved in another encoding
            encoding, text = text if isinstance(text, tuple) else ("utf-8", text)
            shown = name if encoding == "utf-8" else name + s("saved_in", lang, encoding=encoding.upper())
            out += [f"  {shown}", _indent(text), ""]
    out.append(s("wrong", lang) + colon.rstrip() + (s("encoding", lang) if entry.get("check") == "encoding" else ""))
    out += [_indent(visible(_shortened(entry["wrong"], lang))), ""]  # (P0123's holds a direction control: shown as �)
    if "reported_as" in entry and entry["reported_as"] != code.split(".")[0]:
        out += [s("reserved", lang, code=entry["reported_as"]), ""]
    out += [s("right", lang) + colon.rstrip(), _indent(entry["right"])]
    return "\n".join(out)


def closest_code(code: str) -> str | None:
    close = difflib.get_close_matches(code, explanation_codes(), n=1, cutoff=0.5)
    return close[0] if close else None


# ------------------------------------------------------------------ init: a new rule book that passes out of the box
SCAFFOLD: dict[str, str] = {
    "policies/common.policy": """\
# 共享声明：多条政策共用的单位与枚举。只能写 unit、enum 和 entity。
# Shared declarations: units and enums used by several policies. Only `unit`, `enum` and `entity` belong here.

unit follower "人" / "followers"

enum account_kind "账号类型" / "Account type"
  value personal "个人账号" / "Personal account"
  value enterprise "企业号" / "Enterprise account"
""",
    "policies/vocabulary.policy": """\
# 词汇表：规则书读取的每个事实，按实体声明一次（编号、类型、单位、中英文标签）。政策直接使用，不必再声明。
# The vocabulary: every fact the rule book reads, declared once per entity (id, type, unit, labels).
# Policies read these facts by id without declaring them again.

entity account "抖音账号" / "Douyin account"
  fact kind: account_kind "账号类型" / "Account type"
  fact fans: count "粉丝数" / "Followers" unit follower
""",
    "policies/example.policy": """\
# 示例政策：个人账号粉丝数达到 1000 人才能开通购物车。照着它写你自己的规则。
# An example policy: a personal account needs 1,000 followers to open the shopping cart. Make it your own.

policy example
  title "示例：购物车开通" / "Example: shopping cart opening"
  implements R000.1
  source "example.txt" quote "个人账号粉丝数达到1000人，方可开通购物车。"
  effective from 2024-01-01

# 事实（account.kind、account.fans）在 vocabulary.policy 中声明。
# The facts (account.kind, account.fans) are declared in vocabulary.policy.

# ---------------------------------------------------------------- values / 取值
define example.min_fans: count "粉丝门槛" / "Follower threshold" unit follower
  = 1000
  source "example.txt" quote "粉丝数达到1000人"

# ---------------------------------------------------------------- rules / 规则
rule personal_fans "个人账号粉丝门槛" / "Follower threshold for personal accounts"
  implements R000.1
  when account.kind == personal
  require account.fans >= example.min_fans
    else deny fans_below_threshold "粉丝数 {account.fans}，未达到 {example.min_fans}" / "{account.fans}, below {example.min_fans}"
  source "example.txt" quote "个人账号粉丝数达到1000人，方可开通购物车。"

# ---------------------------------------------------------------- properties / 性质（policydsl verify 证明）
property personal_low_fans_denied "粉丝不足 1000 的个人账号一律拒绝" / "A personal account under 1,000 followers is always denied"
  when account.kind == personal and account.fans < 1000
  expect outcome == deny and fires(personal_fans)

property enterprise_always_allowed "企业号不受粉丝数限制" / "An enterprise account is never held to the follower threshold"
  when account.kind == enterprise
  expect outcome == allow

# ---------------------------------------------------------------- assumptions / 假设
assume enterprise_unlimited "原文只对个人账号设粉丝门槛，本政策不限制企业号的粉丝数。" / "The document sets a follower threshold for personal accounts only, so this policy sets none for enterprise accounts."
  about R000.1, personal_fans
  source "example.txt" quote "企业号不受粉丝数限制。"
""",
    "sources/example.txt": """\
示例规则（R000.1）
自2024年1月1日起，个人账号粉丝数达到1000人，方可开通购物车。企业号不受粉丝数限制。
""",
    "features/example.zh.feature": """\
# language: zh-CN
功能: 示例：购物车开通
  个人账号粉丝数达到 1000 人才能开通购物车；企业号不受粉丝数限制（见假设 enterprise_unlimited）。

  @R000.1
  场景大纲: 个人账号的粉丝门槛两侧，以及企业号
    假如 账号类型 为 <账号类型>
    而且 粉丝数 为 <粉丝数>
    当 在 2024-06-01 评估 "example"
    那么 结果为 "<结果>"

    例子: 门槛两侧
      | 账号类型 | 粉丝数 | 结果 |
      | 个人账号 | 999    | 拒绝 |
      | 个人账号 | 1000   | 允许 |
      | 企业号   | 10     | 允许 |

  场景: 拒绝时说明粉丝数与门槛
    假如 账号类型 为 个人账号
    而且 粉丝数 为 999
    当 在 2024-06-01 评估 "example"
    那么 原因包含 "fans_below_threshold"
    而且 提示信息为 "粉丝数 999 人，未达到 1000 人"
""",
    "README.md": """\
# 规则库 / Rule book

由 `policydsl init` 创建。/ Created by `policydsl init`.

- `policies/common.policy`：共享的单位与枚举 / shared units and enums
- `policies/vocabulary.policy`：词汇表，每个事实声明一次 / the vocabulary: every fact declared once
- `policies/example.policy`：示例政策 / the example policy
- `sources/example.txt`：政策引用的来源文件 / the source document the policy quotes
- `features/example.zh.feature`：中文 Gherkin 特性文件 / a Chinese Gherkin feature

```sh
policydsl check policies --sources sources      # 检查政策并逐字核对引文 / check, verifying quotes verbatim
policydsl test features --coverage 100          # 运行特性文件，要求规则全覆盖 / run the features at 100% rule coverage
policydsl verify                                # 用求解器证明 property / prove the properties with the solver
policydsl docs                                  # 渲染双语手册到 generated_docs/ / render the bilingual handbook
echo '{"account": {"kind": "personal", "fans": 999}}' | policydsl eval example --facts - --at 2024-06-01
echo '{"account": {"kind": "personal", "fans": 999}}' | policydsl eval --book --facts - --at 2024-06-01
policydsl explain-code P0201                    # 解释一个诊断代码 / explain a diagnostic code
```
""",
}
