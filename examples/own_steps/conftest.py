"""Your own Gherkin steps beside policydsl's phrases (README: "Your own steps").

policydsl's plugin gives every scenario the `policydsl_world` fixture: the facts given so far, the
decision (or the error) and the checks its own phrases use. A step of yours reads and writes it, so
it mixes freely with the shipped phrases in one scenario. Run from the project root:

    pytest examples/own_steps --policies policies
"""
from __future__ import annotations

import datetime as dt

from pytest_bdd import given, parsers, then, when


@given(parsers.re(r"一个粉丝数为 (?P<fans>\d+) 的个人账号"))
def personal_account(policydsl_world, fans: str) -> None:
    """Several facts in one step: each named by id or label, its value written as in a feature."""
    policydsl_world.given("账号类型", "个人账号")
    policydsl_world.given("account.fans", fans)
    policydsl_world.given("已完成实名认证", "是")
    policydsl_world.given("经营特殊类目（如美妆、食品）", "否")


@when("今天评估购物车开通")
def evaluate_today(policydsl_world) -> None:
    """Evaluate a policy (id or title) on a date; the decision or the error is kept for the Then steps."""
    policydsl_world.evaluate("cart.opening", dt.date(2023, 12, 20))


@then(parsers.re(r"拒绝原因恰好有 (?P<count>\d+) 条"))
def reason_count(policydsl_world, count: str) -> None:
    """Read the decision (`policydsl.Decision`); fail with `fail_with`, which adds where the step is
    written and the facts, the decision and its reasons, as the shipped phrases do."""
    decision = policydsl_world.need_decision()
    if len(decision.reasons) != int(count):
        codes = ", ".join(r.code for r in decision.reasons) or "—"
        policydsl_world.fail_with(f"期望 {count} 条拒绝原因，实际 {len(decision.reasons)} 条：{codes}")
