"""End-to-end tests of the real command line: `policydsl check | eval | test` run as subprocesses.

Each test runs `python -m policydsl.cli …` in a fresh interpreter and asserts on exit codes and on
the text a user reads (stdout/stderr), in Chinese and English. No user error may show a traceback.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POLICIES, ROOT, SEEDS

FEATURES = ROOT / "features"

# A personal account below the 2023 follower threshold: one rule fires (fans_2023), the rest do not.
DENY_FACTS = {"account": {"kind": "personal", "fans": 999, "real_name": True},
              "product": {"special_category": False}}
DENY_JSON = {
    "policy": "cart.opening",
    "at": "2023-12-20",
    "outcome": "deny",
    "values": {"cart.min_fans": 1000},
    "reasons": [{
        "rule": "fans_2023",
        "code": "fans_below_threshold",
        "message": {"zh": "粉丝数 999 人，未达到 1000 人的门槛", "en": "999 followers, below the threshold of 1,000 followers"},
        "source": {"document": "000_48d28f6fa54ab537.txt",
                   "quote": "个人账号 | ≥1000粉丝 | 强制 | 非必须 | 普通商品免提供 |"},
    }],
    "warnings": [],
}


def run(*args: str, cwd: Path | None = None, stdin: str | None = None, env_lang: str | None = "en",
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter; POLICYDSL_LANG pins the default language unless env_lang is None."""
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_LANG", "POLICYDSL_DEBUG")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
    if env_lang is not None:
        env["POLICYDSL_LANG"] = env_lang
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *args], cwd=cwd or ROOT, input=stdin,
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=timeout)


def assert_user_error(result: subprocess.CompletedProcess[str], *, code: int = 2) -> None:
    """A user mistake: the given exit code, a message on stderr, nothing on stdout, never a traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stdout == ""
    assert result.stderr.strip()


def write_facts(tmp_path: Path, facts: object, name: str = "facts.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    return path


def expected_counts() -> tuple[int, int]:
    files = sorted(POLICIES.rglob("*.policy"))
    policies = sum(any(line.startswith("policy ") for line in f.read_text(encoding="utf-8").splitlines())
                   for f in files)
    return len(files), policies


def copy_rule_book(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


# ====================================================================== check
def test_check_clean_rule_book_prints_the_summary_line():
    files, policies = expected_counts()
    result = run("check", str(POLICIES), "--lang", "en")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"checked {files} file(s), {policies} polic(ies): no problems\n"
    assert result.stderr == ""


def test_check_clean_summary_in_chinese_and_default_folder():
    files, policies = expected_counts()
    result = run("check", "--lang", "zh", cwd=ROOT)  # no path: ./policies
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"检查通过：{files} 个文件，{policies} 条政策，无问题\n"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="source documents not beside the project")
def test_check_sources_verifies_quotes_against_the_real_seeds():
    result = run("check", str(POLICIES), "--sources", str(SEEDS), "--lang", "en")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("checked ") and result.stdout.endswith("no problems\n")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="source documents not beside the project")
def test_check_sources_reports_a_quote_not_in_the_document(tmp_path):
    folder = copy_rule_book(tmp_path)
    policy = folder / "cart_opening.policy"
    text = policy.read_text(encoding="utf-8")
    assert 'quote "企业账号需完成对公账户验证"' in text
    policy.write_text(text.replace('quote "企业账号需完成对公账户验证"', 'quote "企业账号无需对公账户验证"'),
                      encoding="utf-8")
    result = run("check", "policies", "--sources", str(SEEDS), "--lang", "en", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error[P0702]" in result.stdout
    assert "quote does not occur verbatim in `000_48d28f6fa54ab537.txt`" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def _break_rule_book(tmp_path: Path) -> tuple[int, int, str]:
    """Copy the rule book into tmp_path with one undefined name; return its line, column and source line."""
    for shared in ("common.policy", "vocabulary.policy"):
        shutil.copy(POLICIES / shared, tmp_path / shared)
    text = (POLICIES / "cart_opening.policy").read_text(encoding="utf-8")
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if "require account.fans >= cart.min_fans" in line)
    lines[index] = lines[index].replace("cart.min_fans", "cart.min_fan")
    (tmp_path / "cart_opening.policy").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index + 1, lines[index].index("cart.min_fan") + 1, lines[index]


def test_check_broken_file_shows_location_source_line_and_caret(tmp_path):
    line, col, source_line = _break_rule_book(tmp_path)
    result = run("check", "cart_opening.policy", "--lang", "en", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout.splitlines()
    header = f"cart_opening.policy:{line}:{col}: error[P0201]: undefined name `cart.min_fan`"
    assert header in out
    at = out.index(header)
    assert out[at + 1] == f"{line:>4} | {source_line}"
    caret = out[at + 2]
    assert caret.lstrip().startswith("|")
    # The caret underlines exactly the wrong name.
    start = out[at + 1].index("cart.min_fan")
    assert caret[start:] == "^" * len("cart.min_fan")
    assert out[at + 3] == "     = hint: did you mean `cart.min_fans`?"
    assert re.search(r"^\d+ error\(s\), 0 warning\(s\)$", result.stdout, re.M)
    assert "Traceback" not in result.stdout + result.stderr


def test_check_syntax_error_in_chinese(tmp_path):
    (tmp_path / "bad.policy").write_text('policy x\n  title "甲" / "A"\nrule r "乙" / "B"\n  require a.b = 3\n',
                                         encoding="utf-8")
    result = run("check", "bad.policy", "--lang", "zh", cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.policy:4:15: 错误[P0113]: 比较请用 `==`，不是 `=`" in result.stdout
    assert "   4 |   require a.b = 3\n     |               ^\n" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_unreadable_file_is_a_diagnostic_not_a_traceback(tmp_path):
    (tmp_path / "binary.policy").write_bytes(b"\xff\xfe\x00policy")
    result = run("check", "binary.policy", "--lang", "en", cwd=tmp_path)
    assert result.returncode == 2  # unreadable input, as in every command (fmt, eval)
    assert "binary.policy:1:1: error[P0104]: cannot read the file: not UTF-8 text" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_link_to_a_file_not_named_policy_is_refused_unread(tmp_path):
    # check and fmt followed a link found in the folder to any file and showed its first line in a diagnostic: a
    # link to a token file in a pull request would print the token in the CI log. A link to a .policy file (a
    # shared declarations file kept elsewhere) is still read.
    folder = copy_rule_book(tmp_path)
    (tmp_path / "token.txt").write_text("ghp_secretvalue0123456789\n", encoding="utf-8")
    (folder / "leak.policy").symlink_to(tmp_path / "token.txt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / "common.policy").rename(elsewhere / "common.policy")
    (folder / "common.policy").symlink_to(elsewhere / "common.policy")
    for command in (["check", str(folder)], ["fmt", "--check", str(folder)], ["fmt", "--diff", str(folder)]):
        result = run(*command, "--lang", "en")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "ghp_secret" not in result.stdout + result.stderr
        assert "a link to a file not named *.policy" in result.stdout + result.stderr
    checked = run("check", str(folder), "--lang", "zh")
    assert checked.stdout.splitlines()[0] == f"{folder / 'leak.policy'}:1:1: 错误[P0104]: 无法读取文件：链接指向的不是 .policy 文件"
    assert checked.stdout.rstrip().endswith("1 个错误，0 个警告")  # the linked common.policy was read
    (folder / "leak.policy").unlink()
    assert run("check", str(folder)).returncode == 0


def test_a_long_line_is_shown_as_a_window_and_control_characters_visibly(tmp_path):
    # A diagnostic echoed its source line whole: a 100,000-digit literal printed 100,000 digits and as many carets,
    # and a NUL or an escape character in a name went raw to the terminal.
    head = 'policy demo.long\n  title "长" / "Long"\n\ninput a.n: count "数" / "N"\n\n'
    rule = 'rule r "规则" / "Rule"\n  require a.n > 1\n    else deny c "拒绝" / "Denied"\n  source "d.txt" quote "q"\n'
    (tmp_path / "long.policy").write_text(head + 'define a.big: count "大" / "Big"\n  = ' + "9" * 100_000 + "\n\n"
                                          + 'define a.far: count "远" / "Far"\n  = ' + "1 + " * 100 + "a.nn\n\n" + rule,
                                          encoding="utf-8")
    result = run("check", "long.policy", "--lang", "en", cwd=tmp_path)
    assert result.returncode == 1 and len(result.stdout) < 2_000, result.stdout[:2_000]
    lines = result.stdout.splitlines()
    at = lines.index("long.policy:7:5: error[P0117]: a number has at most 34 digits")
    assert lines[at + 1:at + 3] == ["   7 |   = " + "9" * 120 + "…", "     |     " + "^" * 80]
    at = next(i for i, line in enumerate(lines) if line.startswith("long.policy:10:405: error[P0201]"))
    assert lines[at + 1:at + 3] == ["  10 | …" + "1 + " * 10 + "a.nn", "     | " + " " * 41 + "^^^^"]

    (tmp_path / "long.policy").write_text(head + rule.replace("rule r ", "rule r\x00\x1b[31m "), encoding="utf-8")
    result = run("check", "long.policy", "--lang", "en", cwd=tmp_path)
    assert "\x00" not in result.stdout and "\x1b" not in result.stdout
    assert "   6 | rule r␀␛[31m \"规则\" / \"Rule\"\n     |       ^" in result.stdout


def test_a_fifo_or_a_device_among_the_policy_files_is_a_diagnostic_not_a_hang(tmp_path):
    # A FIFO named *.policy blocked check, fmt and eval forever (opening it waits for a writer); /dev/zero was read
    # to 8 MiB before being refused. Both are now refused unread, and the other files are still checked.
    folder = copy_rule_book(tmp_path)
    os.mkfifo(folder / "a_fifo.policy")
    (folder / "b_zero.policy").symlink_to("/dev/zero")
    checked = run("check", str(folder), "--lang", "en", timeout=60)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "a_fifo.policy:1:1: error[P0104]: cannot read the file: not a regular file" in checked.stdout
    assert "b_zero.policy:1:1: error[P0104]: cannot read the file: a link to a file not named *.policy" in checked.stdout
    assert checked.stdout.rstrip().endswith("2 error(s), 0 warning(s)")
    assert "无法读取文件：不是普通文件" in run("check", str(folder), "--lang", "zh", timeout=60).stdout
    formatted = run("fmt", "--check", str(folder / "a_fifo.policy"), "--lang", "en", timeout=60)
    assert (formatted.returncode, formatted.stderr) == (2, f"error: cannot read {folder / 'a_fifo.policy'}: not a regular file\n")
    decided = run("eval", "cart.opening", "--policies", str(folder), "--facts", "-", "--at", "2023-12-20",
                  stdin=json.dumps(DENY_FACTS), timeout=60)
    assert decided.returncode == 2 and "a_fifo.policy:1:1: error[P0104]" in decided.stderr
    assert "Traceback" not in checked.stdout + checked.stderr + formatted.stderr + decided.stderr


def test_check_missing_path_exits_2(tmp_path):
    result = run("check", "no_such_folder", "--lang", "en", cwd=tmp_path)
    assert_user_error(result)
    assert "cannot read no_such_folder" in result.stderr


@pytest.mark.parametrize("command", [
    ["check", "{long}"], ["fmt", "{long}"], ["check", "--sources", "{long}", "policies"], ["eval", "--book", "--facts",
    "-", "--policies", "{long}"], ["replay", "{long}"], ["diff", "{long}", "policies"], ["docs", "--policies", "{long}"],
    ["score", "cart.opening", "--input", "{long}.csv", "--out", "o.csv"], ["serve", "--docs", "{long}"]])
def test_a_path_too_long_is_unreadable_input_not_an_internal_error(tmp_path, command):
    # Path.exists() raises every OSError but "no such file" (3.11): a name longer than the system allows
    # (ENAMETOOLONG) was an internal error, exit 3, in every command that checks its paths
    long = str(tmp_path / ("x" * 300))
    result = run(*[arg.replace("{long}", long) for arg in command], "--lang", "en", cwd=ROOT, stdin="{}")
    assert_user_error(result)
    assert result.stderr == f"error: cannot read {long}{'.csv' if command[0] == 'score' else ''}: File name too long\n"


def test_a_loop_of_links_is_named_as_one(tmp_path):
    # Path.exists() says False for a loop of links, so a loop was reported as "No such file or directory"
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for args in (["check", str(tmp_path / "a")], ["check", "policies", "--sources", str(tmp_path / "a")]):
        result = run(*args, "--lang", "en", cwd=ROOT)
        assert_user_error(result)
        assert result.stderr == f"error: cannot read {tmp_path / 'a'}: Too many levels of symbolic links\n"


def test_check_missing_path_exits_2_in_chinese(tmp_path):
    result = run("check", "no_such_folder", "--lang", "zh", cwd=tmp_path)
    assert_user_error(result)
    assert result.stderr == "错误：无法读取 no_such_folder：文件或文件夹不存在\n"


def test_check_folder_without_policies_exits_2(tmp_path):
    result = run("check", str(tmp_path), "--lang", "en")
    assert_user_error(result)
    assert "no .policy files found" in result.stderr


def test_check_format_json_is_a_list_of_diagnostics(tmp_path):
    line, col, _ = _break_rule_book(tmp_path)
    result = run("check", "cart_opening.policy", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    diagnostics = json.loads(result.stdout)
    assert isinstance(diagnostics, list) and diagnostics
    first = diagnostics[0]
    assert {"code", "severity", "file", "line", "column", "end_line", "end_column", "text", "message",
            "hint"} <= set(first)
    assert first["code"] == "P0201" and first["severity"] == "error"
    assert (first["file"], first["line"], first["column"]) == ("cart_opening.policy", line, col)
    assert (first["end_line"], first["end_column"]) == (line, col + len("cart.min_fan"))
    assert first["text"] == "cart.min_fan"
    assert first["message"] == {"zh": "未定义的名称 `cart.min_fan`", "en": "undefined name `cart.min_fan`"}
    assert first["hint"] == {"zh": "你是不是想写 `cart.min_fans`？", "en": "did you mean `cart.min_fans`?"}
    assert all(d["severity"] in ("error", "warning") for d in diagnostics)


def test_check_format_json_clean_is_an_empty_list():
    result = run("check", str(POLICIES), "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


# ====================================================================== eval
def test_eval_json_is_the_exact_decision(tmp_path):
    facts = write_facts(tmp_path, DENY_FACTS)
    result = run("eval", "cart.opening", "--facts", str(facts), "--at", "2023-12-20", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == DENY_JSON
    assert result.stderr == ""


def test_eval_facts_from_stdin(tmp_path):
    result = run("eval", "cart.opening", "--facts", "-", "--at", "2023-12-20", "--json",
                 stdin=json.dumps(DENY_FACTS))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == DENY_JSON


def test_eval_flat_keys_and_enum_labels_are_accepted(tmp_path):
    facts = {"account.kind": "Personal account", "account.fans": 999, "account.real_name": True,
             "product.special_category": False}
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, facts)), "--at", "2023-12-20", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == DENY_JSON
    facts["account.kind"] = "个人账号"
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, facts)), "--at", "2023-12-20", "--json")
    assert json.loads(result.stdout) == DENY_JSON


def test_eval_text_output_in_english_and_chinese(tmp_path):
    facts = str(write_facts(tmp_path, DENY_FACTS))
    en = run("eval", "cart.opening", "--facts", facts, "--at", "2023-12-20", "--lang", "en")
    assert en.returncode == 0, en.stderr
    assert en.stdout.splitlines() == [
        "Douyin shopping cart opening @ 2023-12-20: deny",
        "  - [fans_below_threshold] 999 followers, below the threshold of 1,000 followers",
        "  Follower threshold = 1,000 followers",
    ]
    zh = run("eval", "cart.opening", "--facts", facts, "--at", "2023-12-20", "--lang", "zh")
    assert zh.stdout.splitlines() == [
        "抖音购物车开通资格 @ 2023-12-20: 拒绝",
        "  - [fans_below_threshold] 粉丝数 999 人，未达到 1000 人的门槛",
        "  粉丝门槛 = 1000 人",
    ]


def test_eval_lang_option_overrides_the_environment(tmp_path):
    facts = str(write_facts(tmp_path, DENY_FACTS))
    default_zh = run("eval", "cart.opening", "--facts", facts, "--at", "2023-12-20", env_lang="zh")
    assert default_zh.stdout.startswith("抖音购物车开通资格 @ 2023-12-20: 拒绝")
    forced_en = run("eval", "cart.opening", "--facts", facts, "--at", "2023-12-20", "--lang", "en", env_lang="zh")
    assert forced_en.stdout.startswith("Douyin shopping cart opening @ 2023-12-20: deny")


def test_eval_at_selects_the_rule_in_force(tmp_path):
    facts = {"account": {"fans": 999, "public_videos": 10, "phone_bound": True, "real_name": True}}
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, facts)), "--at", "2021-06-01", "--json")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert (decision["at"], decision["outcome"]) == ("2021-06-01", "deny")
    assert [(r["rule"], r["code"]) for r in decision["reasons"]] == [("fans_2020", "fans_below_threshold")]
    facts["account"]["fans"] = 1000
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, facts)), "--at", "2021-06-01", "--json")
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision["reasons"]) == ("allow", [])


def test_eval_without_at_uses_today_in_shanghai(tmp_path):
    from policydsl.runtime.calendar import today_in_shanghai

    before = today_in_shanghai().isoformat()
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--json")
    after = today_in_shanghai().isoformat()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["at"] in (before, after)


def test_eval_policies_option_from_another_directory(tmp_path):
    facts = str(write_facts(tmp_path, DENY_FACTS))
    absolute = run("eval", "cart.opening", "--facts", facts, "--at", "2023-12-20", "--json",
                   "--policies", str(POLICIES), cwd=tmp_path)
    assert json.loads(absolute.stdout) == DENY_JSON
    copy_rule_book(tmp_path / "book")
    relative = run("eval", "cart.opening", "--facts", "facts.json", "--at", "2023-12-20", "--json",
                   "--policies", "book/policies", cwd=tmp_path)
    assert json.loads(relative.stdout) == DENY_JSON
    # Without --policies the default ./policies does not exist here.
    missing = run("eval", "cart.opening", "--facts", "facts.json", "--at", "2023-12-20", cwd=tmp_path)
    assert_user_error(missing)
    assert "cannot read policies" in missing.stderr


def test_eval_broken_policies_folder_exits_2_with_diagnostics(tmp_path):
    _break_rule_book(tmp_path)
    facts = str(write_facts(tmp_path, DENY_FACTS))
    result = run("eval", "cart.opening", "--facts", facts, "--at", "2023-12-20", "--policies", str(tmp_path))
    assert_user_error(result)
    assert "error[P0201]: undefined name `cart.min_fan`" in result.stderr
    assert "the policies have errors; run `policydsl check` first" in result.stderr


def test_eval_explain_in_chinese(tmp_path):
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--at", "2023-12-20",
                 "--explain", "--lang", "zh")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "政策 cart.opening — 抖音购物车开通资格  @ 2023-12-20"
    fired = lines.index("  ✗ fans_2023 (粉丝数门槛（2023，个人与个体工商户）): 触发 → deny `fans_below_threshold`")
    assert set(lines[fired + 1:fired + 3]) == {"      读取 account.fans (粉丝数) = 999 人",
                                               "      读取 account.kind (账号类型) = 个人账号"}
    scope = lines.index("  · business_licence_2023 (企业号须上传营业执照): 不适用（when 条件不成立）")
    assert lines[scope + 1] == "      读取 account.kind (账号类型) = 个人账号"
    assert "  · fans_2020 (粉丝数门槛（2020）): 未生效" in lines
    assert "  ✓ real_name_2023 (实名认证（2023）): 条件满足，未触发" in lines
    assert "      cart.min_fans (粉丝门槛) = 1000 人" in lines
    assert lines[-1] == "结果：拒绝"


def test_eval_explain_in_english(tmp_path):
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--at", "2023-12-20",
                 "--explain", "--lang", "en")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "policy cart.opening — Douyin shopping cart opening  @ 2023-12-20"
    fired = lines.index("  ✗ fans_2023 (Follower threshold (2023, personal and individual business)): "
                        "fired → deny `fans_below_threshold`")
    assert set(lines[fired + 1:fired + 3]) == {"      read account.fans (Followers) = 999 followers",
                                               "      read account.kind (Account type) = Personal account"}
    scope = lines.index("  · business_licence_2023 (Enterprise accounts upload a business licence): "
                        "does not apply (its `when` is false)")
    assert lines[scope + 1] == "      read account.kind (Account type) = Personal account"
    assert "  · fans_2020 (Follower threshold (2020)): not in force on this date" in lines
    assert "  ✓ real_name_2023 (Real-name verification (2023)): condition met, did not fire" in lines
    assert lines[-1] == "outcome: deny"


def test_eval_explain_with_json_keeps_stdout_machine_readable(tmp_path):
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--at", "2023-12-20",
                 "--explain", "--json", "--lang", "en")
    assert result.returncode == 0
    assert json.loads(result.stdout) == DENY_JSON
    assert "fired → deny `fans_below_threshold`" in result.stderr


def test_eval_policy_found_by_title(tmp_path):
    facts = str(write_facts(tmp_path, DENY_FACTS))
    for title in ("抖音购物车开通资格", "Douyin shopping cart opening"):
        result = run("eval", title, "--facts", facts, "--at", "2023-12-20", "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == DENY_JSON


MISSING_2020 = {
    "account.fans": ("粉丝数", "Followers"),
    "account.public_videos": ("公开原创视频数", "Public original videos"),
    "account.phone_bound": ("已绑定手机号", "Phone number bound"),
    "account.real_name": ("已完成实名认证", "Real-name verified"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("as_json", [False, True])
def test_eval_missing_facts_names_every_one_with_both_labels(tmp_path, lang, as_json):
    args = ["eval", "cart.opening", "--facts", str(write_facts(tmp_path, {})), "--at", "2021-06-01", "--lang", lang]
    result = run(*args, *(["--json"] if as_json else []))
    if as_json:  # errors are data: one object on stdout, nothing on stderr
        assert result.returncode == 2 and result.stderr == ""
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "missing_facts" and sorted(error["facts"]) == sorted(MISSING_2020)
        text = error["message"][lang]
        assert text.startswith("缺少事实：" if lang == "zh" else "missing facts:")
    else:
        assert_user_error(result)
        text = result.stderr
        assert text.startswith("错误：缺少事实：" if lang == "zh" else "error: missing facts:")
    for path, (zh, en) in MISSING_2020.items():
        assert re.search(rf"^  - {re.escape(path)}\W.*{re.escape(zh)}.*{re.escape(en)}", text, re.M), path
    listed = re.findall(r"^  - ([\w.]+)", text, re.M)
    assert sorted(listed) == sorted(MISSING_2020)


def test_eval_missing_facts_2023_names_what_the_rules_need(tmp_path):
    facts = str(write_facts(tmp_path, {"account": {"kind": "personal"}}))
    result = run("eval", "cart.opening", "--facts", facts, "--at", "2023-12-20")
    assert_user_error(result)
    for line in ("  - account.fans (粉丝数 / Followers)",
                 "  - account.real_name (已完成实名认证 / Real-name verified)",
                 "  - product.special_category (经营特殊类目（如美妆、食品） / Sells a special category (e.g. beauty, food))"):
        assert line in result.stderr.splitlines()


def test_eval_ill_typed_facts_exit_2(tmp_path):
    facts = {"account": {"kind": "robot", "fans": "many", "real_name": 1}, "product": {"special_category": False}}
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, facts)), "--at", "2023-12-20",
                 "--json")
    assert result.returncode == 2 and result.stderr == ""  # under --json the error is data on stdout
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "bad_facts" and error["facts"] == ["account.kind", "account.fans", "account.real_name"]
    err = error["message"]["en"]
    assert err.startswith("invalid facts:")
    assert '  - account.kind (账号类型 / Account type): "robot", expected personal (个人账号/Personal account)' in err
    assert '  - account.fans (粉丝数 / Followers): "many", expected count' in err
    assert "  - account.real_name (已完成实名认证 / Real-name verified): 1, expected bool" in err


def test_eval_negative_count_is_ill_typed(tmp_path):
    facts = dict(DENY_FACTS, account={**DENY_FACTS["account"], "fans": -1})
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, facts)), "--at", "2023-12-20")
    assert_user_error(result)
    assert "account.fans (粉丝数 / Followers): -1, expected count" in result.stderr


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_eval_non_finite_number_is_ill_typed(literal):
    text = '{"account": {"kind": "personal", "fans": %s, "real_name": true}, "product": {"special_category": false}}'
    result = run("eval", "cart.opening", "--facts", "-", "--at", "2023-12-20", stdin=text % literal)
    assert_user_error(result)
    assert "account.fans (粉丝数 / Followers)" in result.stderr


@pytest.mark.parametrize("text, message", [
    ('{"account": ', "the facts file is not valid JSON"),
    ("[1, 2]", "facts must be a JSON object"),
])
def test_eval_invalid_json_exits_2(text, message):
    result = run("eval", "cart.opening", "--facts", "-", "--at", "2023-12-20", stdin=text)
    assert_user_error(result)
    assert message in result.stderr


def test_eval_unreadable_facts_file_exits_2(tmp_path):
    result = run("eval", "cart.opening", "--facts", str(tmp_path / "absent.json"), "--at", "2023-12-20")
    assert_user_error(result)
    assert "absent.json" in result.stderr


def test_eval_missing_facts_option_is_a_usage_error():
    result = run("eval", "cart.opening", "--at", "2023-12-20")
    assert_user_error(result)
    assert "--facts" in result.stderr


@pytest.mark.parametrize("lang, hint", [("en", "(did you mean `cart.opening`?)"), ("zh", "（是不是 `cart.opening`？）")])
def test_eval_unknown_policy_suggests_the_nearest(tmp_path, lang, hint):
    result = run("eval", "cart.openin", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--at", "2023-12-20",
                 "--lang", lang)
    assert_user_error(result)
    assert "`cart.openin`" in result.stderr and hint in result.stderr


def test_eval_unknown_policy_by_near_chinese_title(tmp_path):
    result = run("eval", "抖音购物车开通", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--at", "2023-12-20",
                 "--lang", "zh")
    assert_user_error(result)
    assert "是不是 `cart.opening`" in result.stderr


@pytest.mark.parametrize("bad", ["2023-13-01", "2023-02-30", "20231220", "2023-W51-3", "2023-12-20T10:00", "yesterday", ""])
def test_eval_bad_date_exits_2(tmp_path, bad):
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--at", bad)
    assert_user_error(result)
    assert f"invalid date `{bad}`, expected YYYY-MM-DD" in result.stderr


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_eval_date_before_the_policy_is_in_force_exits_2(tmp_path, lang):
    result = run("eval", "cart.opening", "--facts", str(write_facts(tmp_path, DENY_FACTS)), "--at", "2020-04-06",
                 "--lang", lang)
    assert_user_error(result)
    assert "2020-04-06" in result.stderr and "2020-04-07" in result.stderr
    assert ("不生效" if lang == "zh" else "not in force") in result.stderr


# ====================================================================== test
def test_test_runs_the_real_features_of_the_default_folder():
    """With no path, `policydsl test` runs features/ (here the scenarios of one inventory id: all 720 run with the
    coverage gate in `make main`, the last step of `make test`)."""
    result = run("test", "-q", "-m", "R001.1", cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert re.search(r"^[1-9]\d* passed, [1-9]\d* deselected", result.stdout, re.M)
    assert "failed" not in result.stdout


def test_a_feature_file_with_a_byte_order_mark_is_read_as_without_it(tmp_path):
    """An editor's BOM made `policydsl test` report a Gherkin syntax error at line 1 ("Unexpected token"), and the
    handbook's worked examples and the inventory left the file's scenarios out; policy files already read one."""
    from policydsl.docs.examples import collect
    from policydsl.inventory import feature_scenarios

    text = (FEATURES / "cart_opening.zh.feature").read_text(encoding="utf-8")
    (tmp_path / "bom.zh.feature").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "plain.zh.feature").write_text(text, encoding="utf-8")
    result = run("test", str(tmp_path / "bom.zh.feature"), "-q", cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    plain = run("test", str(tmp_path / "plain.zh.feature"), "-q", cwd=ROOT)
    assert re.findall(r"^\d+ passed", result.stdout, re.M) == re.findall(r"^\d+ passed", plain.stdout, re.M) != []
    found = {name: [s for f, s, _ in feature_scenarios(tmp_path) if f == name] for name in ("bom.zh.feature", "plain.zh.feature")}
    assert found["bom.zh.feature"] == found["plain.zh.feature"] != []
    import policydsl
    examples = collect(policydsl.load(POLICIES), tmp_path)
    by_file = {name: [e.name for e in examples if e.file == name] for name in ("bom.zh.feature", "plain.zh.feature")}
    assert by_file["bom.zh.feature"] == by_file["plain.zh.feature"] != []


def test_test_selects_scenarios_by_inventory_tag_and_gates_coverage_of_what_it_ran():
    """`-m` was read as a path; a chosen feature's coverage counted every other policy at 0%."""
    result = run("test", "features/cart_opening.zh.feature", "--coverage", "100", "-q", "--lang", "en", cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "✓ cart.opening" in result.stdout and "shop.deposit" not in result.stdout
    tagged = run("test", "features/cart_opening.zh.feature", "-m", "R001.1", "-q", cwd=ROOT)
    assert tagged.returncode == 0, tagged.stdout[-3000:] + tagged.stderr
    assert re.search(r"[1-9]\d* passed, [1-9]\d* deselected", tagged.stdout)


FAILING_FEATURE_EN = """\
Feature: A wrong expectation
  Scenario: Too few followers but expected allow
    Given Account type is Personal account
    And Followers is 999
    And Real-name verified is yes
    And Sells a special category (e.g. beauty, food) is no
    When I evaluate "cart.opening" on 2023-12-20
    Then the outcome is "allow"

  Scenario: Enough followers
    Given Account type is personal
    And Followers is 1000
    And Real-name verified is yes
    And Sells a special category (e.g. beauty, food) is no
    When I evaluate "cart.opening" on 2023-12-20
    Then the outcome is "allow"
"""

FAILING_FEATURE_ZH = """\
# language: zh-CN
功能: 错误的期望
  场景: 粉丝不足却期望允许
    假如 账号类型 为 个人账号
    而且 粉丝数 为 999
    而且 已完成实名认证 为 是
    而且 经营特殊类目（如美妆、食品） 为 否
    当 在 2023-12-20 评估 "抖音购物车开通资格"
    那么 结果为 "允许"
"""


def test_test_failing_feature_shows_the_decision_and_reasons(tmp_path):
    (tmp_path / "wrong.feature").write_text(FAILING_FEATURE_EN, encoding="utf-8")
    result = run("test", "wrong.feature", "--policies", str(POLICIES), "--lang", "en", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "1 failed, 1 passed" in out
    assert "expected outcome allow, got deny" in out
    assert "decision: cart.opening @ 2023-12-20 → deny" in out
    assert "  - deny fans_2023 [fans_below_threshold] 999 followers, below the threshold of 1,000 followers" in out
    assert "Traceback" not in out + result.stderr


def test_test_failing_feature_in_chinese(tmp_path):
    (tmp_path / "wrong.feature").write_text(FAILING_FEATURE_ZH, encoding="utf-8")
    result = run("test", "wrong.feature", "--policies", str(POLICIES), "--lang", "zh", "-q", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "期望结果为 允许，实际为 拒绝" in out
    assert "决策：cart.opening @ 2023-12-20 → 拒绝" in out
    assert "  - deny fans_2023 [fans_below_threshold] 粉丝数 999 人，未达到 1000 人的门槛" in out


def test_test_missing_feature_path_exits_2(tmp_path):
    result = run("test", "absent.feature", "--policies", str(POLICIES), cwd=tmp_path)
    assert_user_error(result)
    assert "absent.feature" in result.stderr


def test_test_missing_policies_folder_exits_2(tmp_path):
    (tmp_path / "wrong.feature").write_text(FAILING_FEATURE_EN, encoding="utf-8")
    result = run("test", "wrong.feature", cwd=tmp_path)  # no ./policies here
    assert_user_error(result)
    assert "cannot read policies" in result.stderr


def test_test_broken_feature_is_reported_without_traceback(tmp_path):
    (tmp_path / "broken.feature").write_text("Feature: x\n  Scenario: y\n    Given a\n  garbage here\n",
                                             encoding="utf-8")
    result = run("test", "broken.feature", "--policies", str(POLICIES), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Gherkin syntax error" in result.stdout and "broken.feature:4" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
