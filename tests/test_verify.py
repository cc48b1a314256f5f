"""`policydsl verify`: proofs, counterexamples that replay through `policydsl eval`, vacuous and
undecidable properties, output in both languages, JSON, files and exit codes — on small books
written for each case (the whole rule book is verified in test_verify_book.py)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POLICIES, ROOT

COMMON = '''enum kind "类型" / "Kind"
  value personal "个人" / "Personal"
  value enterprise "企业" / "Enterprise"
'''

BOOK = '''policy demo.verify
  title "验证演示" / "Verification demo"
  effective from 2023-01-01

input account.kind: kind "账号类型" / "Account type"
input account.fans: count "粉丝数" / "Followers"
input account.id: text "账号 ID" / "Account id"
input shop.closed_on: date "关店日期" / "Closing date"
input shop.deposit: money "保证金" / "Deposit"

table deposit_for(k: kind) -> money "保证金标准" / "Deposit standard"
  row personal: ¥500
  row enterprise: ¥20000

define refund.due: date "退款期限" / "Refund due"
  = shop.closed_on + 7 working days when shop.closed_on >= 2005-01-01 and shop.closed_on <= 2026-06-30

define deposit.required: money "应缴保证金" / "Deposit required"
  = deposit_for(account.kind)

rollout ramp "逐步放开" / "Gradual ramp"
  key account.id
  phase pilot "内测" / "Pilot" from 2023-11-11 until 2023-12-10 ramp 0% to 50%
  phase full "全面" / "Full" from 2023-12-11 until 2023-12-31 ramp 50% to 100%

rule fans "粉丝门槛" / "Follower threshold"
  when account.kind == personal
  require account.fans >= 1000
    else deny fans_low "粉丝不足" / "Too few followers"
  source "doc.txt" quote "q"

rule restricted "灰度限制" / "Restricted by the ramp"
  when covered(ramp)
  deny restricted "已受限" / "Restricted"
  source "doc.txt" quote "q"

rule deposit_low "保证金不足" / "Deposit too low"
  require shop.deposit >= deposit.required
    else warn deposit_low "保证金不足" / "Deposit too low"
  source "doc.txt" quote "q"
'''

TRUE_PROPS = '''
property low_fans_denied "粉丝不足的个人账号被拒绝" / "Personal accounts with few followers are denied"
  when account.kind == personal and account.fans < 1000
  expect outcome == deny and fires(fans)

property refund_after_closing "退款期限晚于关店" / "The refund is due after closing"
  effective until 2026-06-30
  when shop.closed_on >= 2023-01-01 and shop.closed_on <= 2026-06-30 and account.kind == personal
  expect refund.due >= shop.closed_on + 7 days and refund.due <= shop.closed_on + 30 days

property all_restricted_at_year_end "年底全部受限" / "Everyone is restricted at the end of the year"
  effective from 2023-12-31 until 2023-12-31
  when account.kind == personal
  expect fires(restricted)
'''


def _days(start: str, end: str) -> int:
    import datetime as dt

    return (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days


def write_book(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "common.policy").write_text(COMMON, encoding="utf-8")
    (folder / "demo.policy").write_text(BOOK + extra, encoding="utf-8")
    return folder


def cli(*args: str, cwd: Path = ROOT, lang: str = "en") -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICYDSL_LANG": lang}
    env.pop("POLICYDSL_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def replay(folder: Path, facts: dict, at: str) -> dict:
    """The decision `policydsl eval` makes on a counterexample."""
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "demo.verify", "--facts", "-",
                             "--at", at, "--policies", str(folder), "--json"], input=json.dumps(facts),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_true_properties_are_proved(tmp_path):
    folder = write_book(tmp_path, TRUE_PROPS)
    result = cli("verify", "--policies", folder)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("Verification demo (demo.verify)\n")
    for name in ("low_fans_denied", "refund_after_closing", "all_restricted_at_year_end"):
        assert f"  ✓ proved  {name}: " in out
    assert out.rstrip().splitlines()[-1].startswith(
        "1 policies, 3 properties: 3 proved, 0 failed, 0 undecided, 0 vacuous (")
    zh = cli("verify", "--policies", folder, lang="zh")
    assert "验证演示（demo.verify）" in zh.stdout and "  ✓ 已证明  low_fans_denied：粉丝不足的个人账号被拒绝" in zh.stdout
    assert "1 条政策，3 个 property：3 个已证明，0 个不成立，0 个未判定，0 个空洞" in zh.stdout


@pytest.mark.parametrize("claim, check", [
    # a threshold that only binds personal accounts: an enterprise with few followers is allowed
    ("when account.fans < 1000\n  expect outcome == deny",
     lambda facts, decision: facts["account"]["kind"] == "enterprise" and decision["outcome"] == "allow"),
    # working days: around a holiday, 7 working days span more than 10 calendar days
    ("when shop.closed_on >= 2023-01-01 and shop.closed_on <= 2026-06-30 and account.kind == personal\n"
     "  expect refund.due <= shop.closed_on + 10 days",
     lambda facts, decision: _days(facts["shop"]["closed_on"], decision["values"]["refund.due"]) > 10),
    # the rollout: in the pilot some id is not yet restricted
    ("effective from 2023-11-20 until 2023-11-20\n  when account.kind == personal\n  expect fires(restricted)",
     lambda facts, decision: all(r["code"] != "restricted" for r in decision["reasons"])),
    # the rollout: before the end of the pilot, some id is already restricted
    ("effective from 2023-11-12 until 2023-11-30\n  expect not fires(restricted)",
     lambda facts, decision: any(r["code"] == "restricted" for r in decision["reasons"])),
])
def test_false_properties_give_counterexamples_that_replay(tmp_path, claim, check):
    folder = write_book(tmp_path, f'\nproperty wrong "错误的断言" / "A wrong claim"\n  {claim}\n')
    out_dir = tmp_path / "cx"
    result = cli("verify", "demo.verify", "--policies", folder, "--json", "--out", out_dir)
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    (prop,) = data["policies"][0]["properties"]
    assert prop["status"] == "failed"
    example = prop["counterexample"]
    file = Path(example["file"])
    assert file.parent == out_dir and json.loads(file.read_text(encoding="utf-8")) == example["facts"]
    decision = replay(folder, example["facts"], example["at"])
    assert decision == example["decision"]
    assert check(example["facts"], decision), (example, decision)


def test_text_counterexample_prints_a_command_that_reproduces_it(tmp_path):
    folder = write_book(tmp_path, '\nproperty wrong "错误" / "Wrong"\n  expect outcome == allow\n')
    result = cli("verify", "--policies", folder)
    assert result.returncode == 1
    out = result.stdout
    assert "  ✗ FAILED  wrong: Wrong (" in out and "      counterexample: these facts on " in out
    assert "      decision: deny" in out and "      the claim is false: outcome == allow" in out
    command = next(line for line in out.splitlines() if line.startswith("      reproduce: "))
    command = command.removeprefix("      reproduce: ").replace("policydsl eval", f"{sys.executable} -m policydsl.cli eval")
    replayed = subprocess.run(command + " --json", shell=True, capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["outcome"] == "deny"


def test_a_decision_that_fails_is_a_counterexample(tmp_path):
    """The enterprise deposit is not stated in the source: any claim reaching it fails, and says why."""
    folder = write_book(tmp_path, '\nproperty deposit_known "保证金有定数" / "The deposit is known"\n'
                                  '  expect deposit.required <= ¥20000\n')
    demo = folder / "demo.policy"
    demo.write_text(demo.read_text(encoding="utf-8").replace("row enterprise: ¥20000", "row enterprise: not_stated"),
                    encoding="utf-8")
    result = cli("verify", "--policies", folder, "--json")
    (prop,) = json.loads(result.stdout)["policies"][0]["properties"]
    example = prop["counterexample"]
    assert result.returncode == 1 and prop["status"] == "failed"
    assert example["facts"]["account"]["kind"] == "enterprise" and example["decision"] is None
    assert "deposit_for" in example["decision_error"]["en"] and "enterprise" in example["decision_error"]["en"]
    text = cli("verify", "--policies", folder).stdout
    assert "      the decision fails: " in text


def test_vacuous_property_is_reported(tmp_path):
    folder = write_book(tmp_path, '\nproperty never "永不" / "Never"\n  when account.fans < 5 and account.fans > 7\n'
                                  '  expect outcome == allow\n')
    result = cli("verify", "--policies", folder)
    assert result.returncode == 1
    assert "  ! VACUOUS  never: Never (" in result.stdout
    assert "no facts on any day satisfy the premise: the property proves nothing" in result.stdout


def test_property_filter_and_usage_errors(tmp_path):
    folder = write_book(tmp_path, TRUE_PROPS + '\nproperty wrong "错误" / "Wrong"\n  expect outcome == allow\n')
    only = cli("verify", "--policies", folder, "--property", "low_fans_denied", "--json")
    assert only.returncode == 0
    props = json.loads(only.stdout)["policies"][0]["properties"]
    assert [p["name"] for p in props] == ["low_fans_denied"]
    missing = cli("verify", "--policies", folder, "--property", "nope")
    assert missing.returncode == 2 and missing.stderr == "error: no property named `nope`\n"
    unknown = cli("verify", "no.such.policy", "--policies", folder)
    assert unknown.returncode == 2 and "no.such.policy" in unknown.stderr and "Traceback" not in unknown.stderr
    nowhere = cli("verify", "--policies", tmp_path / "absent")
    assert nowhere.returncode == 2 and "Traceback" not in nowhere.stderr


def test_check_rejects_decision_words_outside_properties(tmp_path):
    folder = write_book(tmp_path, "")
    text = (folder / "demo.policy").read_text(encoding="utf-8")
    (folder / "demo.policy").write_text(text.replace("when covered(ramp)", "when covered(ramp) and outcome == deny"),
                                        encoding="utf-8")
    result = cli("check", folder)
    assert result.returncode == 1
    assert "error[P0801]: `outcome` may only be used in the `when` or `expect` of a property" in result.stdout


HARD = '''
input n.x: count "x" / "x"
input n.y: count "y" / "y"
input n.z: count "z" / "z"

property no_cube_sum "立方和不是立方" / "No sum of two cubes is a cube"
  when n.x >= 1 and n.y >= 1 and n.z >= 1
  expect n.x * n.x * n.x + n.y * n.y * n.y != n.z * n.z * n.z
'''


def test_a_hard_property_stops_at_its_time_limit_undecided(tmp_path):
    """Fermat for cubes: the solver cannot decide it; `--timeout 2` bounds every solver call and
    refinement round of the property, which then reads as undecided for that reason."""
    import time

    folder = write_book(tmp_path, TRUE_PROPS + HARD)
    started = time.monotonic()
    result = cli("verify", "--policies", folder, "--timeout", "2", "--json")
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    props = {p["name"]: p for p in data["policies"][0]["properties"]}
    hard = props["no_cube_sum"]
    assert hard["status"] == "unknown" and hard["timed_out"] is True and hard["limit"] == "seconds"
    assert hard["reason"] == {"zh": "达到 2 秒时间上限", "en": "time limit of 2 s reached"}
    assert hard["seconds"] >= 1.8
    assert all(p["status"] == "proved" and p["timed_out"] is False and p["limit"] is None
               for n, p in props.items() if n != "no_cube_sum")
    summary = data["summary"]
    assert (summary["unknown"], summary["proved"], summary["timeout"], summary["step_limit"]) == (1, 3, 2, 60_000_000)
    assert summary["steps"] == sum(p["steps"] for p in props.values())
    assert summary["seconds"] >= hard["seconds"]
    text = cli("verify", "--policies", folder, "--timeout", "2", "--property", "no_cube_sum", lang="zh")
    assert text.returncode == 1
    assert "  ? 未判定  no_cube_sum：立方和不是立方（" in text.stdout and "      原因：达到 2 秒时间上限\n" in text.stdout


def test_a_hard_property_stops_at_its_step_limit_the_same_on_every_run(tmp_path):
    """`--steps` bounds a property by z3's resource steps, which do not depend on the machine's speed
    or load: the hard property stops undecided at the limit, having spent the limit and a little more
    (a solver call stops at its first count past it), and two runs spend exactly the same steps."""
    folder = write_book(tmp_path, TRUE_PROPS + HARD)
    runs = [json.loads(cli("verify", "--policies", folder, "--steps", "3_000_000", "--json").stdout) for _ in range(2)]
    for data in runs:
        props = {p["name"]: p for p in data["policies"][0]["properties"]}
        hard = props["no_cube_sum"]
        assert (hard["status"], hard["limit"], hard["timed_out"]) == ("unknown", "steps", False)
        assert hard["reason"] == {"zh": "达到求解步数上限 3,000,000", "en": "solver step limit of 3,000,000 reached"}
        assert 3_000_000 <= hard["steps"] < 3_100_000
        assert all(p["status"] == "proved" and 0 < p["steps"] < 3_000_000 for n, p in props.items() if n != "no_cube_sum")
        assert (data["summary"]["step_limit"], data["summary"]["timeout"]) == (3_000_000, 600)
        assert data["summary"]["steps"] == sum(p["steps"] for p in props.values())
    assert [p["steps"] for p in runs[0]["policies"][0]["properties"]] == \
        [p["steps"] for p in runs[1]["policies"][0]["properties"]]
    text = cli("verify", "--policies", folder, "--steps", "3000000", "--property", "no_cube_sum", lang="zh")
    assert text.returncode == 1 and "      原因：达到求解步数上限 3,000,000\n" in text.stdout


LIMIT_ERRORS = {"--steps": ("the step limit must be a positive whole number, not `{}`", "求解步数上限应为正整数，而不是 `{}`"),
                "--timeout": ("the time limit must be a positive number of seconds, not `{}`", "时间上限应为正的秒数，而不是 `{}`")}


@pytest.mark.parametrize("flag, value", [("--steps", v) for v in ("0", "-1", "abc", "1.5", "1e6", "٣", "")]
                         + [("--timeout", v) for v in ("0", "-1", "abc", "nan", "inf")])
def test_a_bad_limit_is_a_usage_error(tmp_path, flag, value):
    folder = write_book(tmp_path, TRUE_PROPS)
    for lang, message in zip(("en", "zh"), LIMIT_ERRORS[flag]):
        result = cli("verify", "--policies", folder, f"{flag}={value}", lang=lang)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert message.format(value) in result.stderr


def test_easy_properties_prove_within_a_time_limit_and_report_their_time(tmp_path):
    folder = write_book(tmp_path, TRUE_PROPS)
    result = cli("verify", "--policies", folder, "--timeout", "30", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    props = data["policies"][0]["properties"]
    assert [p["status"] for p in props] == ["proved"] * 3
    assert all(isinstance(p["seconds"], float) and 0 <= p["seconds"] <= 30 and p["timed_out"] is False for p in props)
    assert data["summary"]["timeout"] == 30 and data["summary"]["seconds"] >= sum(p["seconds"] for p in props)
    default = json.loads(cli("verify", "--policies", folder, "--property", "low_fans_denied", "--json").stdout)
    assert (default["summary"]["timeout"], default["summary"]["step_limit"]) == (600, 60_000_000)
    text = cli("verify", "--policies", folder, "--timeout", "0.5e2")
    assert text.returncode == 0
    assert re.search(r"^  ✓ proved  low_fans_denied: .* \(\d+\.\d\d s\)$", text.stdout, re.M)


def test_an_out_folder_that_cannot_be_made_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "verify", "cart.opening", "--policies",
                             str(POLICIES), "--out", str(blocker / "sub"), "--lang", "en"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert f"cannot write {blocker / 'sub'}: Not a directory; nothing was changed" in result.stderr


def test_report_writes_the_json_report_beside_the_text_one(tmp_path):
    """`--report FILE`: one run of the proofs gives the text report on stdout and the JSON report in FILE."""
    folder = write_book(tmp_path, TRUE_PROPS)
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    text = cli("verify", "--policies", folder, "--report", str(report), lang="en")
    assert text.returncode == 0 and "proved" in text.stdout and not text.stdout.lstrip().startswith("{")
    written = json.loads(report.read_text(encoding="utf-8"))
    printed = json.loads(cli("verify", "--policies", folder, "--json").stdout)
    for data in (written, printed):
        data["summary"].pop("seconds")
        for policy in data["policies"]:
            for prop in policy["properties"]:
                prop.pop("seconds")
    assert written == printed
