"""The pytest plugin, black-box: small .feature files and a small rule book in a pytester directory.

pytest itself is run on the features (the plugin is found through its `pytest11` entry point), and
the tests assert on outcomes and on the text of failure reports, in Chinese and English.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

COMMON = """\
# Shared declarations of the small rule book.
unit follower "人" / "followers"

enum tier "账号等级" / "Account tier"
  value gold "金牌" / "Gold"
  value silver "银牌" / "Silver"
"""

LIVE = """\
policy demo.live
  title "直播开通" / "Live streaming opening"
  source "demo.txt" quote "银牌账号需满足粉丝门槛"
  effective from 2024-01-01

input account.tier: tier "账号等级" / "Account tier"
input account.fans: count "粉丝数" / "Followers" unit follower
input account.verified: bool "已实名" / "Verified"

define live.min_fans: count "粉丝门槛" / "Follower threshold" unit follower
  = 500 from 2024-01-01 until 2024-06-30
  = 1000 from 2024-07-01
  source "demo.txt" quote "门槛自7月起提高到1000"

rule fans_rule "银牌粉丝门槛" / "Silver follower threshold"
  when account.tier == silver
  require account.fans >= live.min_fans
    else deny too_few_fans "粉丝数 {account.fans}，不足 {live.min_fans}" / "{account.fans}, fewer than {live.min_fans}"
  source "demo.txt" quote "银牌账号需满足粉丝门槛"

rule verified_rule "实名认证" / "Real-name verification"
  require account.verified
    else deny not_verified "需完成实名认证" / "Real-name verification is required"
  source "demo.txt" quote "需完成实名认证"
"""

ZH_FEATURE = """\
# language: zh-CN
功能: 直播开通
  银牌账号需满足粉丝门槛；门槛自 2024-07-01 起由 500 提高到 1000。

  背景:
    假如 已实名 为 是

  场景大纲: 银牌账号的粉丝门槛随日期变化
    假如 账号等级 为 <等级>
    而且 粉丝数 为 <粉丝>
    当 在 <日期> 评估 "<政策>"
    那么 结果为 "<结果>"

    例子: 门槛两侧
      | 等级   | 粉丝 | 日期       | 政策                   | 结果  |
      | 银牌   | 499  | 2024-03-01 | 直播开通               | 拒绝  |
      | silver | 500  | 2024-03-01 | demo.live              | 允许  |
      | Silver | 999  | 2024-08-01 | Live streaming opening | deny  |
      | 金牌   | 0    | 2024-08-01 | demo.live              | allow |

  场景: 事实可用编号、中文标签或英文标签
    假如 account.tier 为 silver
    而且 Followers 为 10
    当 在 2024-08-01 评估 "demo.live"
    那么 结果为 "拒绝"
    而且 原因包含 "too_few_fans"
    而且 原因包含 "fans_rule"
    而且 原因不包含 "not_verified"
    而且 提示信息为 "粉丝数 10 人，不足 1000 人"
    而且 粉丝门槛 为 1000
    而且 live.min_fans 为 1000
    而且 没有警告

  场景: 用数据表设定多个事实
    假如 以下事实：
      | 事实         | 值   |
      | 账号等级     | 银牌 |
      | account.fans | 1000 |
      | Verified     | 否   |
    当 在 2024-08-01 评估 "直播开通"
    那么 结果为 "拒绝"
    而且 原因包含 "not_verified"
    而且 原因不包含 "too_few_fans"
    而且 提示信息为 "Real-name verification is required"

  场景: 生效之前不作评估
    假如 账号等级 为 金牌
    而且 粉丝数 为 1
    当 在 2023-12-31 评估 "demo.live"
    那么 评估失败并提示 "2024-01-01"

  场景: 缺少事实时指出缺少哪个
    假如 账号等级 为 银牌
    当 在 2024-08-01 评估 "demo.live"
    那么 评估失败并提示 "account.fans"
"""

EN_FEATURE = """\
Feature: Live streaming opening (English)

  Background:
    Given Verified is yes

  Scenario Outline: The silver threshold
    Given Account tier is <tier>
    And Followers is <followers>
    When I evaluate "<policy>" on <date>
    Then the outcome is "<outcome>"

    Examples:
      | tier   | followers | date       | policy                 | outcome |
      | Silver | 499       | 2024-03-01 | Live streaming opening | deny    |
      | silver | 500       | 2024-03-01 | demo.live              | allow   |
      | 银牌   | 1000      | 2024-08-01 | 直播开通               | 允许    |

  Scenario: Reasons, messages and values in English
    Given 账号等级 is Silver
    And account.fans is 999
    When I evaluate "demo.live" on 2024-08-01
    Then the outcome is "deny"
    And the reasons include "too_few_fans"
    And the reasons do not include "verified_rule"
    And the message is "999 followers, fewer than 1,000 followers"
    And Follower threshold is 1000
    And there are no warnings

  Scenario: The facts table
    Given the facts:
      | fact      | value |
      | Account tier | Gold |
      | 粉丝数    | 0     |
      | account.verified | no |
    When I evaluate "demo.live" on 2024-08-01
    Then the outcome is "deny"
    And the reasons include "not_verified"

  Scenario: Missing facts fail the evaluation
    Given Account tier is Silver
    When I evaluate "demo.live" on 2024-08-01
    Then the evaluation fails with "Followers"
"""

ARGS = ("--policies=policies", "-p", "no:cacheprovider")


@pytest.fixture
def book(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory holding the small rule book in policies/."""
    folder = pytester.mkdir("policies")
    (folder / "common.policy").write_text(COMMON, encoding="utf-8")
    (folder / "live.policy").write_text(LIVE, encoding="utf-8")
    return pytester


def write_feature(pytester: pytest.Pytester, name: str, text: str) -> None:
    (pytester.path / name).write_text(text, encoding="utf-8")


def test_zh_feature_passes(book):
    write_feature(book, "live.zh.feature", ZH_FEATURE)
    result = book.runpytest(*ARGS)
    result.assert_outcomes(passed=8)


def test_en_feature_passes(book):
    write_feature(book, "live.en.feature", EN_FEATURE)
    result = book.runpytest(*ARGS)
    result.assert_outcomes(passed=6)


def test_both_features_together_in_verbose_mode_name_each_scenario(book):
    write_feature(book, "live.zh.feature", ZH_FEATURE)
    write_feature(book, "live.en.feature", EN_FEATURE)
    result = book.runpytest(*ARGS, "-v")
    result.assert_outcomes(passed=14)
    result.stdout.fnmatch_lines(["live.en.feature::test_001_The silver threshold?Silver-499-* PASSED*",
                                 "live.zh.feature::test_002_事实可用编号、中文标签或英文标签 PASSED*"])


def test_policies_folder_from_the_ini_file(book):
    write_feature(book, "live.en.feature", EN_FEATURE)
    book.makeini("[pytest]\npolicydsl_policies = policies\n")
    result = book.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


FAILING_ZH = """\
# language: zh-CN
功能: 错误的期望
  场景: 粉丝不足却期望允许
    假如 账号等级 为 银牌
    而且 粉丝数 为 10
    而且 已实名 为 是
    当 在 2024-08-01 评估 "demo.live"
    那么 结果为 "允许"

  场景: 期望的原因不存在
    假如 账号等级 为 银牌
    而且 粉丝数 为 10
    而且 已实名 为 是
    当 在 2024-08-01 评估 "demo.live"
    那么 原因包含 "not_verified"

  场景: 期望的取值不同
    假如 账号等级 为 金牌
    而且 粉丝数 为 10
    而且 已实名 为 是
    当 在 2024-03-01 评估 "demo.live"
    那么 粉丝门槛 为 1000

  场景: 通过的场景
    假如 账号等级 为 金牌
    而且 粉丝数 为 10
    而且 已实名 为 是
    当 在 2024-03-01 评估 "demo.live"
    那么 结果为 "允许"
"""


def test_failing_scenarios_show_the_decision_and_its_reasons(book):
    write_feature(book, "wrong.feature", FAILING_ZH)
    result = book.runpytest(*ARGS, "--policydsl-lang=zh")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines([
        "*test_001_粉丝不足却期望允许*",
        "期望结果为 允许，实际为 拒绝",
        '事实：{"account.tier": "银牌", "account.fans": 10, "account.verified": true}',
        "决策：demo.live @ 2024-08-01 → 拒绝",
        "  - deny fans_rule [too_few_fans] 粉丝数 10 人，不足 1000 人",
        '取值：{"live.min_fans": 1000}',
    ])
    result.stdout.fnmatch_lines(["原因中没有 `not_verified`", "*决策：demo.live @ 2024-08-01 → 拒绝"])
    result.stdout.fnmatch_lines(["期望 粉丝门槛 为 1000，实际为 500 人", "决策：demo.live @ 2024-03-01 → 允许"])
    # A failed expectation is an assertion about the rule book, not a crash of the step code.
    assert "Traceback" not in result.stdout.str()
    result.stdout.no_fnmatch_line("*policydsl/bdd/world.py*")


def test_failing_scenario_in_english(book):
    write_feature(book, "wrong.feature", FAILING_ZH)
    result = book.runpytest(*ARGS, "--policydsl-lang=en")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines([
        "expected outcome 允许, got deny",
        "decision: demo.live @ 2024-08-01 → deny",
        "  - deny fans_rule [too_few_fans] 10 followers, fewer than 1,000 followers",
    ])


@pytest.mark.parametrize("step, lines", [
    ("假如 粉丝树 为 10", ["本政策没有名为 `粉丝树` 的事实（是不是 `粉丝数`（account.fans）？）"]),
    ("假如 Folowers 为 10", ["本政策没有名为 `Folowers` 的事实（是不是 `Followers`（account.fans）？）"]),
    ("假如 account.fan 为 10", ["本政策没有名为 `account.fan` 的事实（是不是 `account.fans`？）"]),
])
def test_unknown_fact_suggests_the_nearest_name(book, step, lines):
    write_feature(book, "typo.feature", f"""\
# language: zh-CN
功能: 拼写错误
  场景: 事实名拼错
    假如 账号等级 为 银牌
    {step}
    当 在 2024-08-01 评估 "demo.live"
    那么 结果为 "允许"
""")
    result = book.runpytest(*ARGS, "--policydsl-lang=zh")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(lines)


def test_unknown_fact_in_english(book):
    write_feature(book, "typo.feature", """\
Feature: typo
  Scenario: misspelt fact
    Given Folowers is 10
    When I evaluate "demo.live" on 2024-08-01
    Then the outcome is "allow"
""")
    result = book.runpytest(*ARGS, "--policydsl-lang=en")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["the policy has no fact named `Folowers` (did you mean `Followers` (account.fans)?)"])


def test_unknown_value_and_unknown_policy_suggest_names(book):
    write_feature(book, "typo.feature", """\
# language: zh-CN
功能: 拼写错误
  场景: 取值名拼错
    假如 账号等级 为 金牌
    而且 粉丝数 为 1
    而且 已实名 为 是
    当 在 2024-08-01 评估 "demo.live"
    那么 粉丝门坎 为 1000

  场景: 政策名拼错
    假如 账号等级 为 金牌
    当 在 2024-08-01 评估 "直播开"
    那么 结果为 "允许"
""")
    result = book.runpytest(*ARGS, "--policydsl-lang=zh")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["本政策没有名为 `粉丝门坎` 的取值（是不是 `粉丝门槛`（live.min_fans）？）"])
    result.stdout.fnmatch_lines(["*未知政策 `直播开`（是不是 `demo.live`？）*"])


def test_fails_step_reports_an_unexpected_success(book):
    write_feature(book, "fails.feature", """\
# language: zh-CN
功能: 期望失败
  场景: 评估其实成功
    假如 账号等级 为 金牌
    而且 粉丝数 为 1
    而且 已实名 为 是
    当 在 2024-08-01 评估 "demo.live"
    那么 评估失败并提示 "account.fans"

  场景: 错误信息不同
    假如 账号等级 为 金牌
    当 在 2024-08-01 评估 "demo.live"
    那么 评估失败并提示 "没有这段文字"
""")
    result = book.runpytest(*ARGS, "--policydsl-lang=zh")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["期望评估失败并提示“account.fans”，但评估成功"])
    result.stdout.fnmatch_lines(["错误信息中没有“没有这段文字”", "*评估错误：缺少事实：*"])


def test_broken_rule_book_fails_each_scenario_with_diagnostics(book):
    (book.path / "policies" / "live.policy").write_text(LIVE.replace(">= live.min_fans", ">= live.min_fan"),
                                                        encoding="utf-8")
    write_feature(book, "live.zh.feature", ZH_FEATURE)
    result = book.runpytest(*ARGS, "--policydsl-lang=en")
    result.assert_outcomes(failed=8)
    result.stdout.fnmatch_lines(["*live.policy:17:27: error?P0201?: undefined name `live.min_fan`",
                                 "  17 |   require account.fans >= live.min_fan"])


def test_empty_policies_folder_is_reported_without_traceback(book):
    write_feature(book, "live.en.feature", EN_FEATURE)
    book.mkdir("nothing")
    result = book.runpytest("--policies=nothing", "-p", "no:cacheprovider", "--policydsl-lang=en")
    result.assert_outcomes(failed=6)
    result.stdout.fnmatch_lines(["no .policy files found in *nothing"])
    assert "Traceback" not in result.stdout.str()
    result.stdout.no_fnmatch_line("*loader.py*")


@pytest.mark.parametrize("followers, date, lines", [
    # a day the phrase's digits allow and no calendar has: ValueError from the step's code, with its traceback
    ("10", "2024-02-30", ["hostile.feature:6: When I evaluate \"demo.live\" on 2024-02-30",
                          "invalid date `2024-02-30`, expected YYYY-MM-DD"]),
    # digits str.isdigit takes and int() does not, or more than int() reads: ValueError too
    ("²", "2024-08-01", ['  - account.fans (粉丝数 / Followers): "²", expected count']),
    ("9" * 5000, "2024-08-01", ['  - account.fans (粉丝数 / Followers): "' + "9" * 79 + '…, expected count']),
])
def test_a_hostile_date_or_count_in_a_step_fails_it_saying_why(book, followers, date, lines):
    write_feature(book, "hostile.feature", "Feature: hostile\n  Scenario: s\n    Given Account tier is Silver\n"
                  f"    And Verified is yes\n    And Followers is {followers}\n"
                  f"    When I evaluate \"demo.live\" on {date}\n    Then the outcome is \"allow\"\n")
    result = book.runpytest(*ARGS, "--policydsl-lang=en")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(lines)
    assert "Traceback" not in result.stdout.str() and "ValueError" not in result.stdout.str()
    result.stdout.no_fnmatch_line("*policydsl/bdd/*.py*")


@pytest.mark.parametrize("text, line", [
    ("Feature: x\n  Scenario: y\n    Given a\n  garbage here\n", "*Gherkin syntax error*broken.feature:4*"),
    ("", "*broken.feature*no `Feature:` line*"),
])
def test_broken_feature_file_is_a_collection_error_without_traceback(book, text, line):
    write_feature(book, "broken.feature", text)
    result = book.runpytest(*ARGS)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([line])
    assert "Traceback" not in result.stdout.str()
    result.stdout.no_fnmatch_line("*pytest_bdd/*.py*")


COVERAGE_PARTIAL = """\
# language: zh-CN
功能: 只测一边
  场景: 银牌粉丝不足
    假如 账号等级 为 银牌
    而且 粉丝数 为 10
    而且 已实名 为 是
    当 在 2024-08-01 评估 "demo.live"
    那么 结果为 "拒绝"
"""


def test_coverage_gate_names_what_was_not_exercised_and_fails_below_the_threshold(book):
    write_feature(book, "partial.feature", COVERAGE_PARTIAL)
    result = book.runpytest(*ARGS, "--policydsl-lang=en", "--policydsl-coverage=100")
    assert result.ret == 1
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "  ✗ demo.live (Live streaming opening): 3/6 = 50.0%",
        "      not exercised: rule fans_rule (Silver follower threshold) passed without firing",
        "      not exercised: rule verified_rule (Real-name verification) fired",
        "      not exercised: value live.min_fans case 1",
        "coverage is below 100%",
    ])
    assert "rule fans_rule (Silver follower threshold) fired" not in result.stdout.str()


def test_coverage_gate_passes_at_its_threshold(book):
    write_feature(book, "partial.feature", COVERAGE_PARTIAL)
    result = book.runpytest(*ARGS, "--policydsl-lang=zh", "--policydsl-coverage=50")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["  ✓ demo.live (直播开通): 3/6 = 50.0%", "覆盖率 达到 50%"])


def test_full_features_reach_full_coverage(book):
    write_feature(book, "live.zh.feature", ZH_FEATURE)
    write_feature(book, "live.en.feature", EN_FEATURE)
    result = book.runpytest(*ARGS, "--policydsl-lang=en", "--policydsl-coverage=100")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["  ✓ demo.live (Live streaming opening): 6/6 = 100.0%", "coverage meets 100%"])


def test_policydsl_test_runs_without_pytest_warnings() -> None:
    """pytest-bdd is found, not imported, before pytest starts: imported early, pytest could not rewrite
    its asserts and printed a PytestAssertRewriteWarning under every run."""
    import subprocess
    import sys

    from conftest import ROOT

    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "test", "features/book.en.feature", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "warnings summary" not in result.stdout and "PytestAssertRewriteWarning" not in result.stdout


# ------------------------------------------------------------------ what a new user met (issue 14)
def scenario_zh(*thens: str, tags: str = "") -> str:
    steps = "\n".join(f"    而且 {t}" for t in thens)
    return (f"# language: zh-CN\n功能: 检查\n  {tags}\n  场景: 一\n    假如 账号等级 为 银牌\n    而且 粉丝数 为 10\n"
            f"    而且 已实名 为 是\n    当 在 2024-08-01 评估 \"demo.live\"\n    那么 结果为 \"拒绝\"\n{steps}\n")


@pytest.mark.parametrize("step, lines", [
    ('原因不包含 "too_few_fan"', ["check.feature:10: 而且 原因不包含 \"too_few_fan\"",
                                  "`demo.live` 的任何规则都不会给出名为 `too_few_fan` 的原因（规则名或代码）（是不是 `too_few_fans`？）"]),
    ('原因包含 "not_verifed"', ["*名为 `not_verifed` 的原因*（是不是 `not_verified`？）"]),
    ('警告不包含 "too_few_fans"', ["*名为 `too_few_fans` 的警告*"]),
])
def test_a_code_no_rule_can_give_fails_with_the_closest_in_both_directions(book, step, lines):
    """A misspelt code made `原因不包含` pass for ever; now any reason or warning name no rule of the policy
    can give fails, naming the step's file:line and the closest code."""
    write_feature(book, "check.feature", scenario_zh(step))
    result = book.runpytest(*ARGS, "--policydsl-lang=zh")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(lines)


def test_real_codes_and_rule_names_still_pass_both_ways(book):
    write_feature(book, "check.feature", scenario_zh('原因包含 "too_few_fans"', '原因包含 "fans_rule"',
                                                     '原因不包含 "not_verified"', '原因不包含 "verified_rule"'))
    book.runpytest(*ARGS).assert_outcomes(passed=1)


def test_a_step_no_phrase_matches_names_its_line_and_the_closest_phrases(book):
    write_feature(book, "check.feature", scenario_zh('结局是 "拒绝"'))
    result = book.runpytest(*ARGS, "--policydsl-lang=en")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["check.feature:10: 而且 结局是 \"拒绝\"", "no phrase matches this step. The closest are:",
                                 "    那么 结果为 \"拒绝\""])
    result.stdout.no_fnmatch_line("*StepDefinitionNotFoundError*")


def test_a_failing_then_step_names_where_it_is_written(book):
    write_feature(book, "check.feature", scenario_zh('粉丝门槛 为 999'))
    result = book.runpytest(*ARGS, "--policydsl-lang=en")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["check.feature:10: 而且 粉丝门槛 为 999", "expected 粉丝门槛 to be 999, got 1,000*"])


def test_outline_ids_keep_their_chinese(book):
    write_feature(book, "live.zh.feature", ZH_FEATURE)
    result = book.runpytest(*ARGS, "-v")
    result.stdout.fnmatch_lines(["*live.zh.feature::test_001_*[[]银牌-499-2024-03-01-直播开通-拒绝[]] PASSED*"])
    result.stdout.no_fnmatch_line("*\\u*")


def test_tags_select_scenarios_and_raise_no_unknown_mark_warning(book):
    write_feature(book, "check.feature", scenario_zh(tags="@R004.2 @slow"))
    write_feature(book, "live.zh.feature", ZH_FEATURE)
    for option in (["-m", "R004.2"], ["-k", "R004.2"], ["-m", "slow and not R000.1"]):
        result = book.runpytest(*ARGS, *option, "-W", "error::pytest.PytestUnknownMarkWarning")
        result.assert_outcomes(passed=1, deselected=8)
    result = book.runpytest(*ARGS, "-m", "not slow")
    result.assert_outcomes(passed=8, deselected=1)
    assert "PytestUnknownMarkWarning" not in result.stdout.str()


def test_a_chinese_feature_without_its_language_line_says_to_add_it(book):
    write_feature(book, "check.feature", scenario_zh().removeprefix("# language: zh-CN\n"))
    result = book.runpytest(*ARGS, "--policydsl-lang=zh")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*check.feature:1: 功能: 检查", "*中文特性文件的第一行要写 `# language: zh-CN`*"])


OTHER = """\
policy demo.other
  title "另一条" / "Another"
  source "demo.txt" quote "另一条"
  effective from 2024-01-01

input account.fans: count "粉丝数" / "Followers" unit follower

rule some_fans "有粉丝" / "Some followers"
  require account.fans > 0
    else deny no_fans "没有粉丝" / "No followers"
  source "demo.txt" quote "另一条"
"""


def test_coverage_of_chosen_features_counts_only_the_policies_they_evaluate(book):
    """`policydsl test FILE --coverage 100` on one feature failed: every other policy counted 0%. A run over
    whole folders still counts a policy no scenario evaluates as 0%."""
    (book.path / "policies" / "other.policy").write_text(OTHER, encoding="utf-8")
    write_feature(book, "live.zh.feature", ZH_FEATURE)
    write_feature(book, "live.en.feature", EN_FEATURE)
    chosen = book.runpytest(*ARGS, "live.zh.feature", "live.en.feature", "--policydsl-lang=en",
                            "--policydsl-coverage=100")
    assert chosen.ret == 0, chosen.stdout.str()
    chosen.stdout.fnmatch_lines(["  ✓ demo.live (Live streaming opening): 6/6 = 100.0%", "coverage meets 100%",
                                 "(only the policies the selected scenarios evaluated count*"])
    assert "demo.other" not in chosen.stdout.str()
    whole = book.runpytest(*ARGS, "--policydsl-lang=en", "--policydsl-coverage=100")
    assert whole.ret == 1
    whole.stdout.fnmatch_lines(["  ✗ demo.other (Another): 0/2 = 0.0%"])


def test_the_own_steps_example_runs_and_its_failures_read_like_the_shipped_ones(tmp_path):
    """README "Your own steps": the example conftest mixes its steps with the shipped phrases."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    example = tmp_path / "own_steps"
    shutil.copytree(ROOT / "examples" / "own_steps", example)
    command = [sys.executable, "-m", "pytest", str(example), f"--policies={ROOT / 'policies'}", "-p", "no:cacheprovider",
               "-q", "--policydsl-lang=zh"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0 and "2 passed" in ok.stdout, ok.stdout[-3000:]
    feature = example / "own_steps.zh.feature"
    feature.write_text(feature.read_text(encoding="utf-8").replace("恰好有 1 条", "恰好有 2 条"), encoding="utf-8")
    failed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1
    assert "own_steps.zh.feature:8: 而且 拒绝原因恰好有 2 条\n期望 2 条拒绝原因，实际 1 条：fans_below_threshold" in failed.stdout
    assert "事实：" in failed.stdout  # the scenario's summary follows, as under the shipped phrases
