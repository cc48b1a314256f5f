"""A value with a unit is shown with its unit label, the same way everywhere: a message placeholder
(`1000 人`, `1,000 followers`), a consequence's text, `eval`'s values and `--explain`'s reads (JSON stays
numbers); and the checker warns of a unit written again after a placeholder that prints it (P0405)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, diagnostics_of
from policydsl.semantics.check import unit_written

POLICY = """\
policy demo.units
  title "单位演示" / "Units demo"

input account.fans: count "粉丝数" / "Followers" unit follower
input account.hours: number "承诺时长" / "Promised time" unit hour
input account.late: count "延迟单数" / "Late orders"

define demo.min_fans: count "粉丝门槛" / "Follower threshold" unit follower
  = 1000

rule fans "粉丝门槛" / "Follower threshold"
  require account.fans >= demo.min_fans
    else deny fans_low "粉丝数 {account.fans}，未达到 {demo.min_fans}的门槛" / "{account.fans}, below the threshold of {demo.min_fans}"
  source "doc.txt" quote "1000粉丝"

rule hours "时长" / "Hours"
  require account.hours <= 48
    else warn slow "承诺 {account.hours}，{account.late} 单延迟" / "promised {account.hours}, {account.late} late orders"
  consequence restriction for 7 days "承诺 {account.hours}，超过 48 小时" / "promised {account.hours}, over 48 hours"
  source "doc.txt" quote "48小时"
"""
UNITS = 'unit hour "小时" / "hours"\n'


def _book(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "common.policy").write_text((ROOT / "policies" / "common.policy").read_text(encoding="utf-8") + UNITS,
                                          encoding="utf-8")
    (folder / "demo.policy").write_text(POLICY, encoding="utf-8")
    return folder


def _run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_LANG", "POLICYDSL_DEBUG", "POLICYDSL_NO_CACHE")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUTF8="1", POLICYDSL_LANG="en", XDG_CACHE_HOME=str(cache))
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=120)


FACTS = {"account": {"fans": 1200, "hours": "72.5", "late": 3}}


@pytest.fixture
def book(tmp_path: Path) -> Path:
    folder = _book(tmp_path)
    (tmp_path / "facts.json").write_text(json.dumps(FACTS), encoding="utf-8")
    (tmp_path / "few.json").write_text(json.dumps({"account": {"fans": 999, "hours": 10, "late": 0}}), encoding="utf-8")
    return folder


def test_the_demo_book_checks_clean(book: Path, tmp_path: Path) -> None:
    result = _run("check", str(book), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stdout


def test_placeholders_and_values_print_their_unit_in_each_language(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ("eval", "demo.units", "--facts", str(tmp_path / "few.json"), "--at", "2024-06-01", "--policies", str(book))
    for _ in range(2):  # cold, then from the book cache: the units are stored with the compiled book
        en = _run(*args, "--lang", "en", cache=cache)
        assert en.returncode == 0, en.stderr
        assert en.stdout.splitlines() == ["Units demo @ 2024-06-01: deny",
                                          "  - [fans_low] 999 followers, below the threshold of 1,000 followers",
                                          "  Follower threshold = 1,000 followers"]
        zh = _run(*args, "--lang", "zh", cache=cache)
        assert zh.stdout.splitlines() == ["单位演示 @ 2024-06-01: 拒绝",
                                          "  - [fans_low] 粉丝数 999 人，未达到 1000 人的门槛",
                                          "  粉丝门槛 = 1000 人"]


def test_json_keeps_numbers_and_messages_carry_units(book: Path, tmp_path: Path) -> None:
    result = _run("eval", "demo.units", "--facts", str(tmp_path / "facts.json"), "--at", "2024-06-01",
                  "--policies", str(book), "--json", cache=tmp_path / "cache")
    decision = json.loads(result.stdout)
    assert decision["values"] == {"demo.min_fans": 1000}
    # a number with a unit, and a count without one (printed bare)
    assert decision["warnings"][0]["message"] == {"zh": "承诺 72.5 小时，3 单延迟", "en": "promised 72.5 hours, 3 late orders"}
    # a consequence's text is filled the same way
    assert decision["consequences"][0]["message"] == {"zh": "承诺 72.5 小时，超过 48 小时",
                                                      "en": "promised 72.5 hours, over 48 hours"}


def test_explain_reads_show_the_unit(book: Path, tmp_path: Path) -> None:
    result = _run("eval", "demo.units", "--facts", str(tmp_path / "few.json"), "--at", "2024-06-01",
                  "--policies", str(book), "--explain", cache=tmp_path / "cache")
    assert "      read account.fans (Followers) = 999 followers" in result.stdout.splitlines()
    assert "      demo.min_fans (Follower threshold) = 1,000 followers" in result.stdout.splitlines()


def test_a_unit_written_after_its_placeholder_is_a_warning(book: Path, tmp_path: Path) -> None:
    demo = book / "demo.policy"
    demo.write_text(POLICY.replace('"{account.fans}, below', '"{account.fans} followers, below')
                    .replace("承诺 {account.hours}，{account.late}", "承诺 {account.hours}个小时，{account.late}"),
                    encoding="utf-8")
    result = _run("check", str(book), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout  # a warning: the book still checks
    assert result.stdout.count("warning[P0405]") == 2
    assert ("placeholder `{account.fans}` already prints its unit “followers” and the text writes “followers” "
            "after it: the unit would be said twice") in result.stdout
    assert "hint: drop the “个小时” written after the placeholder" in result.stdout


@pytest.mark.parametrize(("after", "label", "written"), [
    (" 人，", "人", "人"),
    ("个小时", "小时", "个小时"),
    (" 个 小时", "小时", "个 小时"),
    (" 个，", "个", "个"),
    (" followers, below", "followers", "followers"),
    (" Followers", "followers", "Followers"),
    (" follower", "followers", "follower"),
    (" hours", "hours", "hours"),
])
def test_a_written_unit_is_found(after: str, label: str, written: str) -> None:
    assert unit_written(after, label) == written


@pytest.mark.parametrize(("after", "label"), [
    ("，需 10 个以上", "个"),
    ("商品", "个"),
    ("以上", "人"),
    (" followed", "followers"),
    (" followership", "followers"),
    ("", "人"),
    (", below", "followers"),
])
def test_other_text_is_not_a_written_unit(after: str, label: str) -> None:
    assert unit_written(after, label) is None


def test_a_count_without_a_unit_or_another_unit_stays_quiet() -> None:
    text = POLICY.replace("{account.late} 单延迟", "{account.late} 单延迟，{account.fans} 小时")
    codes = [d.code for d in diagnostics_of(UNITS + text)]
    assert "P0405" not in codes
