"""Every user-facing string of the toolchain, in Chinese and English, looked up by key."""
from __future__ import annotations

import os

LANGS = ("zh", "en")

# key -> (zh, en). Placeholders use str.format names; user text is wrapped in backticks.
MESSAGES: dict[str, tuple[str, str]] = {
    # ---- syntax (P01xx)
    "P0101": ("意外的 {found}，此处应为 {expected}", "unexpected {found}, expected {expected}"),
    "P0101.hint": ("检查上一个子句是否写完整", "check that the previous clause is complete"),
    "P0102": ("无法识别的字符 `{char}`", "unrecognised character `{char}`"),
    "P0102.hint": ("字符串要用英文双引号 \"…\"，注释以 # 开头",
                   "strings use straight double quotes \"…\"; comments start with #"),
    "P0102.name": ("名称只能用英文字母、数字和 _；中文写在 \"中文\" / \"English\" 文本里",
                   "names use ASCII letters, digits and _; Chinese belongs in \"中文\" / \"English\" text"),
    "P0103": ("文件意外结束，此处应为 {expected}", "unexpected end of file, expected {expected}"),
    "P0103.hint": ("最后一个声明还没写完", "the last declaration is unfinished"),
    "P0104": ("无法读取文件：{reason}", "cannot read the file: {reason}"),
    "P0110": ("`require` 条件后缺少 `else deny|warn 代码 \"中文\" / \"English\"`",
              "`require` needs `else deny|warn CODE \"中文\" / \"English\"` after its condition"),
    "P0110.hint": ("例如：require account.fans >= 1000 else deny fans_low \"粉丝不足\" / \"Too few followers\"",
                   "for example: require account.fans >= 1000 else deny fans_low \"粉丝不足\" / \"Too few followers\""),
    "P0111": ("文本需要中英文两种写法：\"中文\" / \"English\"",
              "text needs both languages: \"中文\" / \"English\""),
    "P0111.hint": ("在中文后加上 / \"English text\"", "add / \"English text\" after the Chinese text"),
    "P0112": ("规则缺少结论：需要 `require …` 或 `allow|deny|warn 代码 文本`",
              "the rule has no outcome: it needs `require …` or `allow|deny|warn CODE TEXT`"),
    "P0112.hint": ("在 when 之后写 require 条件 else deny …", "write `require CONDITION else deny …` after `when`"),
    "P0113": ("比较请用 `==`，不是 `=`", "use `==` to compare, not `=`"),
    "P0113.hint": ("`=` 只用于 define 的取值", "`=` only introduces a value of a `define`"),
    "P0114": ("紧跟在 input/define 之后的 `unit` 会被读作它的单位，而不是新的单位声明",
              "a `unit` right after an input or define is read as its unit, not as a new unit declaration"),
    "P0114.hint": ("把 unit 声明移到 input 之前，或放进共享文件", "move the unit declaration above the inputs, or into the shared file"),
    "P0115": ("表达式嵌套过深：运算符、函数调用或集合嵌套超过 {limit} 层",
              "expression nested too deeply: more than {limit} levels of operators, calls or sets"),
    "P0115.hint": ("把它拆成几个 define 取值，或拆成几条规则；一长串 and 也可以写成几个 require",
                   "split it into a few `define` values or several rules; a long chain of `and` can also become several `require`s"),
    "P0117": ("数字最多写 {limit} 位", "a number has at most {limit} digits"),
    "P0117.hint": ("金额、百分比和数值都按精确十进制计算，最多 {limit} 位有效数字", "amounts, percentages and numbers are exact decimals of at most {limit} significant digits"),
    # ---- names (P02xx)
    "P0201": ("未定义的名称 `{name}`", "undefined name `{name}`"),
    "P0201.hint": ("你是不是想写 `{suggestion}`？", "did you mean `{suggestion}`?"),
    "P0202": ("重复的标识 `{name}`", "duplicate id `{name}`"),
    "P0202.related": ("首次定义于此", "first defined here"),
    "P0203": ("未知类型 `{name}`", "unknown type `{name}`"),
    "P0203.hint": ("可用类型：{choices}", "available types: {choices}"),
    "P0204": ("未知单位 `{name}`", "unknown unit `{name}`"),
    "P0204.hint": ("先用 `unit {name} \"中文\" / \"English\"` 声明", "declare it first with `unit {name} \"中文\" / \"English\"`"),
    "P0205": ("`{kind}` 声明必须写在 `policy` 之后", "this `{kind}` declaration must follow a `policy` header"),
    "P0205.hint": ("只有 enum 和 unit 可以写在共享文件中", "only enums and units may stand in a shared file"),
    "P0206": ("`{value}` 不是枚举 `{enum}` 的取值", "`{value}` is not a value of enum `{enum}`"),
    "P0207": ("一个文件只能有一个 `policy`", "a file holds at most one `policy`"),
    "P0208": ("`{name}` 是 {kind}，不能在这里使用", "`{name}` is a {kind} and cannot be used here"),
    "P0209": ("枚举 `{enum}` 的取值 `{value}` 没有被任何规则、表、取值或 property 提到",
              "value `{value}` of enum `{enum}` is not mentioned by any rule, table, define or property"),
    "P0209.hint": ("若它由默认情形处理，这没有问题；否则为它写规则或表格行，或从枚举中删去",
                   "fine if a default case handles it; otherwise give it a rule or a table row, or remove it from the enum"),
    # ---- types (P03xx)
    "P0301": ("类型不匹配：`{op}` 不能作用于 {left} 和 {right}", "type mismatch: `{op}` cannot combine {left} and {right}"),
    "P0302": ("条件必须是 bool，这里是 {found}", "a condition must be bool, found {found}"),
    "P0303": ("`{name}` 需要 {expected} 个参数，实际给了 {found} 个", "`{name}` takes {expected} argument(s), {found} given"),
    "P0304": ("单位不匹配：{left} 与 {right}", "unit mismatch: {left} versus {right}"),
    "P0304.hint": ("比较的两边必须是同一种量", "both sides of a comparison must measure the same thing"),
    "P0305": ("取值类型为 {found}，但 `{name}` 声明为 {expected}", "value has type {found} but `{name}` is declared {expected}"),
    "P0306": ("`{name}` 的第 {index} 个参数应为 {expected}，实际为 {found}", "argument {index} of `{name}` should be {expected}, found {found}"),
    "P0307": ("不能推断 `{name}` 的类型：它旁边需要一个类型已知的值",
              "cannot tell the type of `{name}`: it needs a value of known type beside it"),
    # ---- text (P04xx)
    "P0401": ("缺少{lang}文本", "missing {lang} text"),
    "P0401.hint": ("每段给用户看的文字都要有中文和英文", "every text a user reads needs Chinese and English"),
    "P0401.quote": ("把来源文件中支持这条规定的原文逐字抄进 quote", "copy the words of the document that support this into `quote`, verbatim"),
    "P0402": ("中英文占位符不一致：中文有 {zh}，英文有 {en}", "placeholders differ: Chinese has {zh}, English has {en}"),
    "P0403": ("占位符 `{name}` 不是本政策的输入或取值", "placeholder `{name}` is not an input or value of this policy"),
    "P0403.hint": ("你是不是想写 `{{{suggestion}}}`？", "did you mean `{{{suggestion}}}`?"),
    # ---- tables (P05xx)
    "P0501": ("表 `{table}` 有空档：{gap} 没有任何一行覆盖", "table `{table}` has a gap: no row covers {gap}"),
    "P0502": ("表 `{table}` 第 {a} 行与第 {b} 行在 {overlap} 重叠，但命中策略是 unique",
              "table `{table}` rows {a} and {b} overlap on {overlap} under hit policy unique"),
    "P0502.related": ("与此行重叠", "overlaps this row"),
    "P0502.hint": ("改正区间边界，或声明 `hit first` / `hit priority`", "fix the bounds, or declare `hit first` / `hit priority`"),
    "P0503": ("矩阵表 `{table}` 缺少单元格：{cells}", "matrix table `{table}` is missing cells: {cells}"),
    "P0504": ("区间下界 {low} 大于上界 {high}", "interval lower bound {low} exceeds upper bound {high}"),
    "P0505": ("命中策略 `{hit}` 不适用于 {type} 类型的表", "hit policy `{hit}` does not suit a table of {type}"),
    "P0506": ("`{name}` 在表 `{table}` 中重复出现", "`{name}` appears twice in table `{table}`"),
    "P0507": ("此行有 {found} 个单元格，表头有 {expected} 列", "this row has {found} cells but the header has {expected} columns"),
    "P0508": ("表 `{table}` 的行形式与参数不符", "the rows of table `{table}` do not fit its parameters"),
    "P0508.hint": ("单个数值参数用区间行 `row [0, 90]: …`；单个枚举参数用 `row 值: …`；两个枚举参数用 `columns …`",
                   "one numeric parameter takes interval rows `row [0, 90]: …`; one enum takes `row VALUE: …`; two enums take `columns …`"),
    "P0509": ("表 `{table}` 第 {row} 行 `{interval}` 永远用不上：它的每个值都先命中第 {rows} 行（hit {hit}）",
              "table `{table}` row {row} `{interval}` is never used: every value it matches goes to row(s) {rows} first (hit {hit})"),
    "P0510": ("表的单元格必须是写明的值，`{cell}` 不是", "a table cell must be a value written out, and `{cell}` is not"),
    "P0510.hint": ("写一个日期、数字、金额、文本或枚举值；需要随评估日期变化的值请用 define 的 when 情形",
                   "write a date, number, amount, text or enum value; a value that changes with the evaluation date belongs in a `define` with `when` cases"),
    "P0509.related": ("先命中此行", "matched first by this row"),
    "P0509.hint": ("删除这一行，或调整行的顺序或 priority，让它能被命中",
                   "remove the row, or change the order or the priorities of the rows so that it can be reached"),
    # ---- time (P06xx)
    "P0601": ("生效区间无效：开始 {start} 晚于结束 {end}", "invalid effective period: start {start} is after end {end}"),
    "P0602": ("`{a}` 与 `{b}` 的生效期在 {start} 至 {end} 重叠", "`{a}` and `{b}` are both in force from {start} to {end}"),
    "P0602.hint": ("给较早的版本加上 `until {until}`，让它在较晚的版本生效前一天结束",
                   "give the earlier version `until {until}` so it ends the day before the later one starts"),
    "P0603": ("灰度阶段 `{phase}` 无效：{reason}", "rollout phase `{phase}` is invalid: {reason}"),
    "P0604": ("例外关系成环：{cycle}", "exceptions form a cycle: {cycle}"),
    "P0604.values": ("取值互相依赖，形成循环：{cycle}", "values depend on each other in a cycle: {cycle}"),
    "P0605": ("`{rule}` 有多个例外优先级同为 {priority}：{others}", "`{rule}` has several exceptions with the same priority {priority}: {others}"),
    "P0606": ("`{a}` 取代 `{b}`，但两者之间 {start} 至 {end} 没有规则生效", "`{a}` supersedes `{b}` but neither is in force from {start} to {end}"),
    "P0607": ("灰度 `{rollout}` 在 {end} 结束时只覆盖 {share}，永远达不到 100%", "rollout `{rollout}` ends on {end} at {share}: it never reaches 100%"),
    "P0607.hint": ("让最后一个阶段升到 100%，或用 assume 说明为何停在此处", "ramp the last phase to 100%, or explain in an `assume` note why it stops there"),
    "P0608": ("取值 `{name}` 在 {start} 至 {end} 没有任何情形生效：在这些日子读取它会评估失败",
              "value `{name}` has no case in force from {start} to {end}: reading it on those days fails"),
    "P0608.hint": ("为这些日期加一个情形，或延长相邻情形的 from / until", "add a case for these dates, or extend a neighbouring case's from / until"),
    "P0609": ("规则 `{rule}` 在 {start} 至 {end} 生效，但政策 `{policy}` 的生效期是 {policy_start} 至 {policy_end}：这些日子它永远不会生效",
              "rule `{rule}` is in force from {start} to {end}, outside the effective period of policy `{policy}` ({policy_start} to {policy_end}): it never applies on those days"),
    "P0609.hint": ("让规则的 from / until 落在政策的生效期内，或调整政策的 effective", "keep the rule's from / until within the policy's period, or change the policy's `effective`"),
    # ---- provenance (P07xx)
    "P0701": ("找不到来源文件 `{document}`", "source document `{document}` not found"),
    "P0702": ("引文没有逐字出现在 `{document}` 中", "quote does not occur verbatim in `{document}`"),
    "P0702.hint": ("最接近的原文：{closest}", "closest text in the document: {closest}"),
    "P0703": ("规则 `{rule}` 没有引用来源", "rule `{rule}` cites no source"),
    "P0703.hint": ("加上 source \"文件名\" quote \"原文\"", "add source \"FILE\" quote \"VERBATIM TEXT\""),
    "P0704": ("政策 `{policy}` 缺少 title", "policy `{policy}` has no title"),
    "P0706": ("规则引用的 `{id}` 不在政策 `{policy}` 的 implements 中", "`{id}` is not among the ids policy `{policy}` implements"),
    "P0706.hint": ("把它加到政策头部的 implements 列表", "add it to the `implements` list of the policy header"),
    "P0705": ("`{id}` 不是来源清单中的编号格式", "`{id}` is not an inventory id"),
    "P0707": ("来源文件名 `{document}` 指向来源文件夹之外", "source document `{document}` lies outside the sources folder"),
    "P0707.hint": ("写来源文件夹里的文件名，例如 `notice.txt`；不能用绝对路径、`..` 或指向外面的符号链接",
                   "name a file inside the sources folder, e.g. `notice.txt`; no absolute path, no `..`, no symlink leading out"),
    "P0708": ("无法读取来源文件 `{document}`：{reason}", "cannot read source document `{document}`: {reason}"),
    "P0708.hint": ("来源文件应是 UTF-8 编码的普通文本文件", "a source document is a plain UTF-8 text file"),
    # ---- properties (P08xx)
    "P0801": ("`{word}` 只能写在 property 的 when / expect 中", "`{word}` may only be used in the `when` or `expect` of a property"),
    "P0801.hint": ("规则和取值只看事实；要对决策结果下断言，请写 property … expect outcome == deny",
                   "rules and values read facts only; to claim something about the decision write `property … expect outcome == deny`"),
    "P0802": ("决策结果只有 allow 和 deny，不能与 `{word}` 比较", "a decision's outcome is allow or deny, never `{word}`"),
    "P0802.hint": ("警告用 fires(规则) 判断", "ask whether a warning was given with fires(RULE)"),
    # ---- solver analyses (policydsl/verify/analyses.py)
    "P0610": ("规则 `{rule}` 永远不会触发：在它和政策的生效期内，没有任何事实能让它给出结论",
              "rule `{rule}` can never fire: no facts on any day of its and its policy's period make it give its reason"),
    "P0610.hint": ("检查 when 与 require 是否互相矛盾，或生效期是否落空", "check whether its `when` contradicts its `require`, or its period is empty"),
    "P0611": ("例外 `{rule}` 永远不会生效：它的条件成立时，{bases} 都不适用",
              "exception `{rule}` never takes effect: whenever it applies, {bases} does not"),
    "P0611.hint": ("例外只在被例外的规则也适用时才起作用；对照两者的 when 条件", "an exception acts only when the rule it overrides applies too; compare their `when` conditions"),
    "P0612": ("allow `{allow}` 会与 deny 规则 {deny} 对同一组事实同时触发，此时结果为拒绝（deny 优先）；例如 {at} 的 {facts} 同时触发 `{allow}` 与 `{first}`",
              "allow `{allow}` fires together with deny rule(s) {deny} for the same facts, and then the outcome is deny (deny wins); e.g. {facts} on {at} fires `{allow}` and `{first}`"),
    "P0612.hint": ("若 allow 只该在没有拒绝时说话，给它加上相应的 when；或把它写成 deny 的例外",
                   "if the allow should speak only when nothing is denied, scope it with `when`, or make it an exception to the deny"),
    "P0612.related": ("同时触发的 deny 规则", "the deny rule that fires too"),
    # ---- hints for codes above that had none, and fallbacks when no did-you-mean is found
    "P0104.hint": ("把文件保存为 UTF-8 文本，并确认路径可读", "save the file as UTF-8 text and check that the path is readable"),
    "P0202.hint": ("给其中一个换一个编号", "give one of them another id"),
    "P0206.hint": ("使用该枚举 value 列表中的编号，或在枚举中声明该值", "use one of the enum’s `value` ids, or declare the value in the enum"),
    "P0207.hint": ("每条政策放在自己的 .policy 文件里", "put each policy in its own .policy file"),
    "P0208.hint": ("换成一个输入事实或取值的名称", "use the name of an input or a value here"),
    "P0301.hint": ("检查两边的类型：金额与金额相加，金额乘以百分比，日期加时长", "check both sides: money + money, money × percent, date + duration"),
    "P0302.hint": ("写成比较，例如 `x >= 1000` 或 `flag == true`", "write a comparison such as `x >= 1000`, or use a bool fact"),
    "P0303.hint": ("按表或函数的参数个数传参", "pass as many arguments as the table or function declares"),
    "P0305.hint": ("改正取值，或改正 define 声明的类型", "fix the value, or the type the define declares"),
    "P0306.hint": ("传入与参数类型相同的值", "pass a value of the parameter’s type"),
    "P0307.hint": ("把它写在比较或集合里，另一边是已知类型的事实", "compare it with, or put it in a set beside, a fact of known type"),
    "P0402.hint": ("中英文使用同一组 {{占位符}}", "use the same {{placeholders}} in both languages"),
    "P0501.hint": ("为空档加一行，或放宽相邻行的边界", "add a row for the gap, or widen a neighbouring row"),
    "P0503.hint": ("为每个缺少的单元格写一个值，或写 not_open / not_stated", "give each missing cell a value, or not_open / not_stated"),
    "P0504.hint": ("交换上下界", "swap the two bounds"),
    "P0505.hint": ("对数值表使用 collect sum/min/max，其他类型用 unique/first/priority", "use collect sum/min/max only on numeric tables; unique, first or priority otherwise"),
    "P0506.hint": ("删除或合并重复的行或列", "remove or merge the repeated row or column"),
    "P0507.hint": ("让每行的单元格数与 columns 一致", "give each row as many cells as `columns` names"),
    "P0601.hint": ("交换 from 与 until，或改正日期", "swap `from` and `until`, or fix the dates"),
    "P0603.hint": ("让各阶段首尾相接，比例在 0%–100% 之间且不下降", "make the phases follow each other day by day, with ramps within 0%–100% that never fall"),
    "P0604.hint": ("去掉环上的一处引用", "remove one of the references in the cycle"),
    "P0116": ("取值 `{name}` 经由它读取的取值层层嵌套，计算时超过 {limit} 层",
              "value `{name}` nests more than {limit} levels deep through the values it reads"),
    "P0116.hint": ("让它直接读取事实或较浅的取值，或把一长串逐个相加的取值合并成一个表达式",
                   "let it read facts or shallower values directly, or merge a long chain of values that each add a step into one expression"),
    "P0605.hint": ("给这些例外不同的 priority", "give these exceptions different priorities"),
    "P0606.hint": ("让新版本从旧版本结束后的第二天开始，或为空档写一条 assume 说明", "start the new version the day after the old one ends, or explain the gap in an `assume` note"),
    "P0701.hint": ("检查文件名，并用 --sources 指向来源文件夹", "check the file name, and point --sources at the folder of source documents"),
    "P0704.hint": ("在 policy 后写 title \"中文\" / \"English\"", "add `title \"中文\" / \"English\"` after `policy`"),
    "P0705.hint": ("编号形如 R000.1", "inventory ids look like R000.1"),
    "P0201.hint0": ("先用 input 或 define 声明它，或检查拼写", "declare it with `input` or `define` first, or check the spelling"),
    "P0403.hint0": ("占位符只能是本政策的输入或取值编号", "a placeholder names an input or a value of this policy"),
    # ---- words
    "lang.zh": ("中文", "Chinese"),
    "lang.en": ("英文", "English"),
    "severity.error": ("错误", "error"),
    "severity.warning": ("警告", "warning"),
    "severity.info": ("信息", "info"),
    "end of file": ("文件结尾", "end of file"),
    "summary.clean": ("检查通过：{files} 个文件，{policies} 条政策，无问题", "checked {files} file(s), {policies} polic(ies): no problems"),
    "summary.problems": ("{errors} 个错误，{warnings} 个警告", "{errors} error(s), {warnings} warning(s)"),
    "summary.capped": ("另有 {count} 条诊断未显示", "{count} more diagnostic(s) not shown"),
    "summary.notes": ("{count} 条信息（不算问题）", "{count} note(s), not problems"),
    # ---- runtime errors (exit 2)
    "E.missing_facts": ("缺少事实：\n{items}", "missing facts:\n{items}"),
    "E.bad_facts": ("事实的值无效：\n{items}", "invalid facts:\n{items}"),
    "E.unknown_fact": ("未知事实 `{name}`", "unknown fact `{name}`"),
    "E.unknown_facts": ("规则库中没有这些事实（记录中另有别的字段时，用 --ignore-unknown 忽略它们）：\n{items}",
                        "the rule book knows no such facts (--ignore-unknown skips them when a record carries other fields):\n{items}"),
    "E.conflicting_facts": ("同一事实写了两次，取值不同：\n{items}", "the same fact is given twice with different values:\n{items}"),
    "E.ambiguous_facts": ("这些标签属于不止一个事实，请改用编号：\n{items}", "these labels name more than one fact; use an id instead:\n{items}"),
    "E.unknown_policy": ("未知政策 `{name}`{hint}", "unknown policy `{name}`{hint}"),
    "E.not_in_force": ("政策 `{policy}` 在 {at} 不生效（生效期 {period}）", "policy `{policy}` is not in force on {at} (in force {period})"),
    "E.date_range": ("{date} 加 {amount} {unit} 超出了可表示的日期范围（0001-01-01 至 9999-12-31）",
                     "{date} plus {amount} {unit} falls outside the representable dates (0001-01-01 to 9999-12-31)"),
    "E.calendar_range": ("工作日日历只覆盖 {first}–{last} 年，无法计算 {date}", "the working-day calendar covers {first}–{last} only; cannot compute {date}"),
    "E.facts_json": ("事实文件不是有效的 JSON：{reason}", "the facts file is not valid JSON: {reason}"),
    "E.facts_object": ("事实必须是 JSON 对象", "facts must be a JSON object"),
    "E.facts_deep": ("事实嵌套超过 {limit} 层", "facts nest more than {limit} levels deep"),
    "E.precision": ("`{name}` 的精确结果超过 {digits} 位有效数字，无法不经舍入地计算",
                    "the exact result of `{name}` needs more than {digits} significant digits; it cannot be computed without rounding"),
    "E.bad_date": ("日期 `{value}` 无效，应为 YYYY-MM-DD", "invalid date `{value}`, expected YYYY-MM-DD"),
    "E.no_policies": ("在 {path} 没有找到 .policy 文件", "no .policy files found in {path}"),
    "E.has_errors": ("政策有错误，先运行 `policydsl check`", "the policies have errors; run `policydsl check` first"),
    "E.unreadable": ("无法读取 {path}：{reason}", "cannot read {path}: {reason}"),
    "E.not_open_arith": ("`{name}` 的取值为“暂不开放”，不能参与计算", "`{name}` is “not open” and cannot be computed with"),
    "E.not_stated": ("来源文件没有给出表 `{table}` 中 {key} 的取值", "the sources state no value for {key} in table `{table}`"),
    "E.stale": ("{path} 中的表格已过期：运行 `policydsl inventory --update {path}`", "the table in {path} is stale: run `policydsl inventory --update {path}`"),
    "E.no_row": ("表 `{table}` 没有行匹配 {value}", "no row of table `{table}` matches {value}"),
    "E.no_case": ("`{name}` 在 {at} 没有适用的取值", "`{name}` has no applicable value on {at}"),
    "E.empty_aggregate": ("`{agg}` 作用于空集合", "`{agg}` over an empty set"),
    "E.division_by_zero": ("除数为零", "division by zero"),
    # ---- rewriting files and the handbook (policydsl/fsutil.py, policydsl/docs/output.py)
    "E.write": ("无法写入 {path}：{reason}；未做任何改动", "cannot write {path}: {reason}; nothing was changed"),
    "E.write_partial": ("改写 {path} 失败（{reason}），原内容也无法写回：原内容保存在 {backup}",
                        "rewriting {path} failed ({reason}) and its previous content could not be put back: "
                        "it is kept in {backup}"),
    "E.read_only": ("{path} 是只读文件，未改写；要允许改写，请运行 `chmod u+w {path}`",
                    "{path} is read-only and was not rewritten; run `chmod u+w {path}` to allow it"),
    "E.not_regular": ("{path} 不是普通文件，未改写", "{path} is not a regular file and was not rewritten"),
    "E.write_handbook": ("无法写入手册 {path}：{reason}；原手册未改动",
                         "cannot write the handbook {path}: {reason}; the previous handbook is untouched"),
    "E.handbook_not_folder": ("{path} 不是文件夹", "{path} is not a directory"),
    "E.handbook_foreign": ("{path} 不是 policydsl 生成的手册文件夹，不会覆盖它；请换一个 --out 文件夹",
                           "{path} is not a handbook folder made by policydsl and will not be replaced; "
                           "choose another --out folder"),
    # ---- values a decision could not compute (values are lazy: a value no rule needs may lack facts)
    "unresolved.line": ("未能计算 {label}：缺少 {facts}", "Not computed: {label}, needs {facts}"),
    "unresolved.heading": ("未能计算的取值：", "values not computed:"),
    "unresolved.explain": ("{path} ({label})：缺少 {facts}", "{path} ({label}): needs {facts}"),
    "unresolved.fact": ("{label}（{path}）", "{label} ({path})"),
    "unresolved.sep": ("、", ", "),
    "unresolved.step": ("`{name}` 未能计算：缺少 {facts}；给出这些事实才能检查它",
                        "`{name}` was not computed: it needs {facts}; give these facts to check it"),
    # ---- decision words
    "outcome.allow": ("允许", "allow"),
    "outcome.deny": ("拒绝", "deny"),
    "outcome.warn": ("警告", "warn"),
    "not_open": ("暂不开放", "not open"),
    "true": ("是", "yes"),
    "false": ("否", "no"),
}


def t(key: str, lang: str, /, **args: object) -> str:
    """The message `key` in `lang`, formatted with `args` (a {"zh", "en"} dict argument picks `lang`)."""
    zh, en = MESSAGES[key]
    template = zh if lang == "zh" else en
    if not args:
        return template
    local = {k: (v[lang] if isinstance(v, dict) and lang in v else v) for k, v in args.items()}
    return template.format(**local)


def register(namespace: str, strings: dict[str, tuple[str, str]]):
    """Add a module's own zh/en strings under `namespace.`; returns `t` for that namespace, so the
    module keeps short keys: `s = i18n.register("fmt", STRINGS)`, then `s("summary", lang, n=1)`."""
    for key, pair in strings.items():
        MESSAGES[f"{namespace}.{key}"] = pair

    def scoped(key: str, lang: str, /, **args: object) -> str:
        return t(f"{namespace}.{key}", lang, **args)
    return scoped


def both(key: str, /, **args: object) -> dict[str, str]:
    return {lang: t(key, lang, **args) for lang in LANGS}


def default_lang() -> str:
    """POLICYDSL_LANG, else the locale: Chinese locales get zh, everything else en."""
    explicit = os.environ.get("POLICYDSL_LANG", "")
    if explicit in LANGS:
        return explicit
    loc = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return "zh" if loc.lower().startswith("zh") else "en"
