"""`policydsl diff OLD NEW [--sample]`: the impact of a rule-book change on sample records, and the
solver's proof (or counterexample) per policy; API and CLI."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.diff import DiffError, compare, csv_cell, read_sample

from conftest import POLICIES, ROOT

AT = dt.date(2023, 6, 1)
THRESHOLD_OLD = "  = 1000 from 2023-01-01\n"
THRESHOLD_NEW = "  = 1200 from 2023-01-01\n"
PHONE_RULE = '''
rule phone_2023 "绑定手机号（2023）" / "Phone number bound (2023)"
  effective from 2023-01-01
  require account.phone_bound
    else deny phone_not_bound "至少需要绑定手机号" / "A phone number must be bound"
  source "001_a14ff54ea7c4ae32.txt" quote "至少需要绑定手机号,并完成实名认证"
'''


def personal(fans, real_name=True):
    return {"account": {"kind": "personal", "fans": fans, "real_name": real_name},
            "product": {"special_category": False}}


def legacy(fans):  # the 2020 rule's facts
    return {"account": {"fans": fans, "public_videos": 12, "phone_bound": True, "real_name": True}}


ENTERPRISE = {"account": {"kind": "企业号", "fans": 10, "real_name": True, "business_licence": True,
                          "corporate_verified": True}, "product": {"special_category": False}}

# (id, at, facts): 20 records of cart.opening around the threshold.
RECORDS = [
    *[(f"p{f}", "2023-06-01", personal(f)) for f in (999, 1000, 1050, 1100, 1199, 1200, 1201, 5000)],
    *[(f"l{f}", "2022-06-01", legacy(f)) for f in (999, 1000, 1100, 1199, 1200)],
    ("ent", "2023-06-01", ENTERPRISE),
    ("noreal", "2023-06-01", personal(1100, real_name=False)),
    ("early", "2019-06-01", personal(1100)),
    ("undated1150", None, personal(1150)),
    ("undated1300", None, personal(1300)),
    ("dec", "2023-12-20", personal(1000)),
    ("jan", "2023-01-01", personal(1199)),
]
FLIPPED = ["p1000", "p1050", "p1100", "p1199", "undated1150", "dec", "jan"]  # 1000–1199 fans in 2023


def write_jsonl(path: Path, records=RECORDS, policy="cart.opening") -> Path:
    lines = []
    for ident, at, facts in records:
        row = {"id": ident, "facts": facts}
        if policy:
            row["policy"] = policy
        if at:
            row["at"] = at
        lines.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    base = tmp_path_factory.mktemp("books")
    old, new, phone = base / "old", base / "new", base / "phone"
    for target in (old, new, phone):
        shutil.copytree(POLICIES, target)
    text = (new / "cart_opening.policy").read_text(encoding="utf-8")
    assert text.count(THRESHOLD_OLD) == 1
    (new / "cart_opening.policy").write_text(text.replace(THRESHOLD_OLD, THRESHOLD_NEW), encoding="utf-8")
    (phone / "cart_opening.policy").write_text(text + PHONE_RULE, encoding="utf-8")
    return {"base": base, "old": old, "new": new, "phone": phone}


@pytest.fixture(scope="module")
def loaded(books):
    return {k: policydsl.load(books[k]) for k in ("old", "new", "phone")}


def cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICYDSL_LANG": "en"}
    env.pop("POLICYDSL_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "diff", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def invoke(*args: str):
    """The command in-process (fast); `cli` runs a real process where the exact stderr matters."""
    from policydsl.cli import main

    args = tuple(map(str, args)) + (() if "--lang" in args else ("--lang", "en"))
    result = CliRunner().invoke(main, ["diff", *args], env={"POLICYDSL_LANG": "en"})
    assert "internal error" not in result.output and "Traceback" not in result.output
    return result


# ------------------------------------------------------------------ the comparison
def test_threshold_change_flips_exactly_the_records_between_1000_and_1199(books, loaded, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    report = compare(loaded["old"], loaded["new"], read_sample(str(sample), {}), at=AT, examples=10)
    (diff,) = report.policies
    assert diff.policy == "cart.opening" and diff.records == 20
    assert diff.transitions == {"allow→deny": 7, "allow→allow": 9, "deny→deny": 3, "error→error": 1}
    flipped = [e["id"] for e in diff.examples if e["change"] == "allow→deny"]
    assert flipped == FLIPPED
    # Every 2023 record sees cart.min_fans go from 1000 to 1200 (a value change); the 2022 records, the
    # record before the policy's effective date and nothing else stay identical.
    changed_ids = {e["id"] for e in diff.examples}
    assert changed_ids == {*FLIPPED, "p999", "p1200", "p1201", "p5000", "ent", "noreal", "undated1300"}
    assert diff.changed == 14
    assert report.added == () and report.removed == ()


def test_examples_carry_old_and_new_outcome_reasons_and_values(loaded, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    report = compare(loaded["old"], loaded["new"], read_sample(str(sample), {}), at=AT)
    (diff,) = report.policies
    by_change = {}
    for e in diff.examples:
        by_change.setdefault(e["change"], []).append(e["id"])
    assert by_change == {"allow→deny": ["p1000", "p1050", "p1100"], "deny→deny": ["p999", "noreal"],
                         "allow→allow": ["p1200", "p1201", "p5000"]}
    first = diff.examples[1]
    assert first == {
        "id": "p1000", "at": "2023-06-01", "change": "allow→deny", "differs": ["outcome", "reasons", "values"],
        "old": {"outcome": "allow", "reasons": [], "values": {"cart.min_fans": 1000}},
        "new": {"outcome": "deny", "values": {"cart.min_fans": 1200}, "reasons": [
            {"rule": "fans_2023", "code": "fans_below_threshold",
             "message": {"zh": "粉丝数 1000 人，未达到 1200 人的门槛", "en": "1,000 followers, below the threshold of 1,200 followers"}}]},
    }
    p999 = next(e for e in diff.examples if e["id"] == "p999")
    assert p999["differs"] == ["values"]  # same reason code, the message and the value changed
    noreal = next(e for e in diff.examples if e["id"] == "noreal")
    assert noreal["differs"] == ["reasons", "values"]
    assert [r["code"] for r in noreal["old"]["reasons"]] == ["not_real_name_verified"]
    assert sorted(r["code"] for r in noreal["new"]["reasons"]) == ["fans_below_threshold", "not_real_name_verified"]
    undated = next(e for e in compare(loaded["old"], loaded["new"], read_sample(str(sample), {}), at=AT,
                                      examples=10).policies[0].examples if e["id"] == "undated1150")
    assert undated["at"] == "2023-06-01"  # --at for records without a date


def test_identical_books_change_nothing(loaded, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    report = compare(loaded["old"], loaded["old"], read_sample(str(sample), {}), at=AT)
    (diff,) = report.policies
    assert (diff.records, diff.changed, diff.examples) == (20, 0, [])
    # deny: p999, l999, noreal; error: early; every other record is allowed.
    assert diff.transitions == {"allow→allow": 16, "deny→deny": 3, "error→error": 1}


def test_a_fact_the_new_version_needs_turns_into_errors(loaded, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    (diff,) = compare(loaded["old"], loaded["phone"], read_sample(str(sample), {}), at=AT, examples=1).policies
    # Every 2023 record lacks account.phone_bound; the 2022 records carry it (and the rule is not in force).
    assert diff.transitions == {"allow→error": 12, "deny→error": 2, "allow→allow": 4, "deny→deny": 1,
                                "error→error": 1}
    assert diff.changed == 14
    error = next(e for e in diff.examples if e["change"] == "allow→error")
    assert error["new"]["outcome"] == "error" and error["new"]["reasons"] == []
    assert "account.phone_bound" in error["new"]["error"]["en"] and "已绑定手机号" in error["new"]["error"]["zh"]
    assert len([e for e in diff.examples if e["change"] == "allow→error"]) == 1  # --examples 1


def test_policy_filter_and_unnamed_records(loaded, tmp_path):
    # Records naming no policy are evaluated with every policy in scope; --policy narrows the scope.
    sample = write_jsonl(tmp_path / "s.jsonl", RECORDS[:3], policy=None)
    report = compare(loaded["old"], loaded["new"], read_sample(str(sample), {}), at=AT, policies=["抖音购物车开通资格"])
    assert [p.policy for p in report.policies] == ["cart.opening"]
    assert report.policies[0].transitions == {"deny→deny": 1, "allow→deny": 2}
    report = compare(loaded["old"], loaded["new"], read_sample(str(sample), {}), at=AT)
    assert len(report.policies) == len(loaded["old"].policies)
    others = [p for p in report.policies if p.policy != "cart.opening"]
    assert all(p.changed == 0 and p.records == 3 for p in others)
    with pytest.raises(DiffError) as info:
        compare(loaded["old"], loaded["new"], [], at=AT, policies=["no.such"])
    assert "no.such" in info.value.message("en") and "no.such" in info.value.message("zh")


def test_added_and_removed_policies(books, tmp_path):
    fewer = tmp_path / "fewer"
    shutil.copytree(POLICIES, fewer)
    (fewer / "settlement.policy").unlink()
    old, new = policydsl.load(POLICIES), policydsl.load(fewer)
    sample = write_jsonl(tmp_path / "s.jsonl", RECORDS[:2])
    report = compare(old, new, read_sample(str(sample), {}), at=AT)
    assert report.removed == ("settlement",) and report.added == ()
    assert report.to_dict()["policies"][0]["changed"] == 0
    report = compare(new, old, read_sample(str(sample), {}), at=AT)
    assert report.added == ("settlement",) and report.removed == ()
    result = invoke(fewer, POLICIES, "--sample", sample, "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["added"] == ["settlement"]
    assert "added policy: settlement" in invoke(fewer, POLICIES, "--sample", sample).stdout


# ------------------------------------------------------------------ CSV
def test_csv_cells_read_like_json_scalars():
    assert csv_cell("1200", "count") == 1200 and csv_cell("true", "bool") is True
    assert str(csv_cell("0.85", "percent")) == "0.85" and csv_cell("个人账号", "enum") == "个人账号"
    assert csv_cell("apparel;jewellery", "set") == ["apparel", "jewellery"]
    assert csv_cell("123", "text") == "123"


def test_csv_sample(books, loaded, tmp_path):
    sample = tmp_path / "s.csv"
    sample.write_text(
        "policy,at,id,account.kind,account.fans,account.real_name,product.special_category\n"
        "cart.opening,2023-06-01,a,personal,999,true,false\n"
        "cart.opening,2023-06-01,b,个人账号,1000,true,false\n"
        "cart.opening,2023-06-01,c,Personal account,1199,true,false\n"
        "cart.opening,2023-06-01,d,personal,1200,true,false\n"
        "cart.opening,,e,personal,1100,true,false\n"
        "cart.opening,2023-06-01,f,personal,,true,false\n", encoding="utf-8")
    records = read_sample(str(sample), {})
    assert records[1].facts == {"account.kind": "个人账号", "account.fans": 1000, "account.real_name": True,
                                "product.special_category": False}
    assert records[4].at is None and "account.fans" not in records[5].facts
    (diff,) = compare(loaded["old"], loaded["new"], records, at=AT).policies
    assert diff.records == 6
    assert diff.transitions == {"allow→deny": 3, "deny→deny": 1, "allow→allow": 1, "error→error": 1}
    assert [e["id"] for e in diff.examples if e["change"] == "allow→deny"] == ["b", "c", "e"]
    result = invoke(books["old"], books["new"], "--sample", sample, "--json", "--at", "2023-06-01")
    assert result.exit_code == 1 and json.loads(result.stdout)["policies"][0]["transitions"]["allow→deny"] == 3


def test_bad_csv_exits_2(books, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("policy,account.fans\ncart.opening,1000\ncart.opening,1000,extra\n", encoding="utf-8")
    result = cli(books["old"], books["new"], "--sample", bad)
    assert result.returncode == 2 and "line 3" in result.stderr and "Traceback" not in result.stderr
    dup = tmp_path / "dup.csv"
    dup.write_text("policy,policy\n", encoding="utf-8")
    result = invoke(books["old"], books["new"], "--sample", dup)
    assert result.exit_code == 2 and "line 1" in result.stderr
    quote = tmp_path / "quote.csv"
    quote.write_text('policy,account.fans\ncart.opening,"1000\n', encoding="utf-8")
    result = invoke(books["old"], books["new"], "--sample", quote)
    assert result.exit_code == 2 and "line 2: invalid CSV (unexpected end of data)" in result.stderr


# ------------------------------------------------------------------ CLI
def test_cli_text_report_and_exit_codes(books, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    result = cli(books["old"], books["new"], "--sample", sample, "--at", "2023-06-01")
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "Douyin shopping cart opening (`cart.opening`): 20 records, 14 decisions changed" in out
    assert "  allow→deny: 7" in out and "  allow→allow: 9" in out
    assert "    - p1000 @ 2023-06-01: allow → deny [fans_below_threshold]" in out
    assert "        new: [fans_below_threshold] 1,000 followers, below the threshold of 1,200 followers" in out
    assert "        value cart.min_fans: 1000 → 1200" in out
    report, proofs = out.split("the solver, policy by policy (every fact set and day):\n")
    assert report.rstrip().endswith("14 decisions changed in all")
    assert "  ✗ cart.opening: decides differently, e.g. " in proofs
    assert "      allow → deny [fans_below_threshold] (differs in: outcome, reasons, values)" in proofs
    assert "  ✓ shop.deposit: decides alike (proved)" in proofs
    assert proofs.count("decides alike (proved)") == 17 and proofs.count("decides differently") == 1
    zh = invoke(books["old"], books["new"], "--sample", sample, "--at", "2023-06-01", "--lang", "zh")
    assert "抖音购物车开通资格（`cart.opening`）：20 条记录，14 条决策改变" in zh.stdout
    assert "粉丝数 1000 人，未达到 1200 人的门槛" in zh.stdout


def test_cli_identical_books_exit_0(books, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    result = cli(books["old"], POLICIES, "--sample", sample, "--at", "2023-06-01", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    proofs = data.pop("proofs")
    assert data == {"policies": [{"policy": "cart.opening", "records": 20, "changed": 0,
                                  "transitions": {"allow→allow": 16, "deny→deny": 3, "error→error": 1},
                                  "examples": []}], "added": [], "removed": []}
    assert len(proofs) == 18 and all(p["status"] == "equivalent" and p["counterexample"] is None for p in proofs)
    assert "no decision changed" in invoke(books["old"], POLICIES, "--sample", sample, "--at", "2023-06-01").stdout


def test_cli_json_shape_and_examples_option(books, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    result = cli(books["old"], books["new"], "--sample", sample, "--at", "2023-06-01", "--json", "--examples", "1",
                 "--policy", "cart.opening")
    data = json.loads(result.stdout)
    (entry,) = data["policies"]
    assert set(entry) == {"policy", "records", "changed", "transitions", "examples"}
    assert entry["transitions"] == {"allow→allow": 9, "allow→deny": 7, "deny→deny": 3, "error→error": 1}
    assert list(entry["transitions"]) == sorted(entry["transitions"])
    assert [(e["id"], e["change"]) for e in entry["examples"]] == [
        ("p999", "deny→deny"), ("p1000", "allow→deny"), ("p1200", "allow→allow")]
    assert set(entry["examples"][0]) == {"id", "at", "change", "differs", "old", "new"}


def test_cli_bad_jsonl_line_exits_2_naming_the_line(books, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    lines = sample.read_text(encoding="utf-8").splitlines()
    lines.insert(4, '{"facts": {"account": ')
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli(books["old"], books["new"], "--sample", sample)
    assert result.returncode == 2 and result.stdout == ""
    assert f"{sample} line 5: not valid JSON" in result.stderr and "Traceback" not in result.stderr
    zh = invoke(books["old"], books["new"], "--sample", sample, "--lang", "zh")
    assert "第 5 行" in zh.stderr
    for body, needle in (('{"id": 1}\n', "line 1: expected a JSON object"),
                         ('{"facts": {}, "at": "2023-13-01"}\n', "line 1: invalid date `2023-13-01`"),
                         ('{"facts": {}, "policy": "no.such"}\n', "line 1: neither version has the policy"),
                         ('{"facts": {"a": 1e99999999999999999999}}\n',  # decimal's InvalidOperation: exit 3
                          "line 1: not valid JSON (the number 1e99999999999999999999 has an exponent beyond")):
        sample.write_text(body, encoding="utf-8")
        result = invoke(books["old"], books["new"], "--sample", sample)
        assert result.exit_code == 2 and needle in result.stderr


def test_cli_unreadable_input_exits_2(books, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    broken = tmp_path / "broken"
    shutil.copytree(POLICIES, broken)
    with (broken / "cart_opening.policy").open("a", encoding="utf-8") as f:
        f.write('\nrule phone_2023 "绑定手机号" / "Phone bound"\n  require account.phone_bound\n'
                '    else deny phone_not_bound "需绑定" / "Bind a phone"\n')
    endless, gbk = tmp_path / "zero.jsonl", tmp_path / "gbk.csv"
    endless.symlink_to("/dev/zero")
    gbk.write_bytes("account.kind\n企业\n".encode("gbk"))
    cases = [
        ((tmp_path / "missing", books["new"], "--sample", sample), "missing"),
        ((books["old"], books["new"], "--sample", tmp_path / "nope.jsonl"), "nope.jsonl"),
        ((books["old"], books["new"], "--sample", tmp_path / "s.txt"), ".jsonl or .csv"),
        ((books["old"], broken, "--sample", sample), "P0703"),
        ((books["old"], books["new"], "--sample", sample, "--at", "2023-6-1"), "2023-6-1"),
        ((books["old"], books["new"], "--sample", sample, "--policy", "no.such"), "no.such"),
        ((books["old"], books["new"], "--sample", sample, "--examples", "-1"), "-1"),
        ((books["old"], books["new"], "--sample", endless), "larger than 64 MiB"),  # read to the limit, no further
        ((books["old"], books["new"], "--sample", gbk), "not UTF-8 text"),  # (before: "UnicodeDecodeError")
    ]
    for k, (args, needle) in enumerate(cases):
        if k < 2 or k == 3:  # a real process for the missing folder and the broken rule book
            result = cli(*args)
            code = result.returncode
            assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
        else:
            result = invoke(*args)
            code = result.exit_code
        assert code == 2, (args, result.stdout, result.stderr)
        assert needle in result.stderr, (args, result.stderr)


# ------------------------------------------------------------------ the solver's half
def test_solver_counterexample_for_a_threshold_change_replays(books, tmp_path):
    """Without a sample the solver finds the change by itself; its facts replay through `eval`."""
    result = cli(books["old"], books["new"], "--json", "--policy", "cart.opening")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert "policies" not in data and data["added"] == [] and data["removed"] == []
    (proof,) = data["proofs"]
    assert proof["policy"] == "cart.opening" and proof["status"] == "different"
    example = proof["counterexample"]
    assert example["old"]["outcome"] == "allow" and example["new"]["outcome"] == "deny"
    assert "outcome" in example["differs"]
    fans = example["facts"]["account"]["fans"]
    assert 1000 <= fans <= 1199 and example["at"] >= "2023-01-01"
    facts = tmp_path / "cx.json"
    facts.write_text(json.dumps(example["facts"], ensure_ascii=False), encoding="utf-8")
    for book, outcome in ((books["old"], "allow"), (books["new"], "deny")):
        run = subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "cart.opening", "--facts", str(facts),
                              "--at", example["at"], "--policies", str(book), "--json"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["outcome"] == outcome


def test_a_rewrite_that_changes_nothing_is_proved_equivalent(books, tmp_path):
    """The solver's real use: a refactoring (a condition rewritten, rules reordered) is proved
    to decide exactly as before, for every fact set and day; no sample could show that."""
    target = tmp_path / "refactored"
    shutil.copytree(books["old"], target)
    path = target / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    old_cond = "  require account.corporate_verified or account.legal_person_face_verified\n"
    new_cond = "  require not (not account.corporate_verified and not account.legal_person_face_verified)\n"
    assert text.count(old_cond) == 1
    path.write_text(text.replace(old_cond, new_cond), encoding="utf-8")
    result = invoke(books["old"], target, "--policy", "cart.opening")
    assert result.exit_code == 0, result.output
    assert "  ✓ cart.opening: decides alike (proved)" in result.output
    # and a change that only shows on some dates is found: the 2023 follower rule from 2023-02-01
    later = text.replace("  effective from 2023-01-01\n  supersedes fans_2020", "  effective from 2023-02-01\n  supersedes fans_2020")
    assert later != text
    path.write_text(later, encoding="utf-8")
    result = cli(books["old"], target, "--json", "--policy", "cart.opening")
    (proof,) = json.loads(result.stdout)["proofs"]
    assert result.returncode == 1 and proof["status"] == "different"
    assert "2023-01-01" <= proof["counterexample"]["at"] <= "2023-01-31"


def test_no_prove_keeps_the_sample_report_only(books, tmp_path):
    sample = write_jsonl(tmp_path / "s.jsonl")
    result = invoke(books["old"], books["old"], "--sample", sample, "--at", "2023-06-01", "--no-prove")
    assert result.exit_code == 0
    assert "solver" not in result.output and "no decision changed" in result.output


def test_changed_enum_values_cannot_be_compared_by_the_solver(books, tmp_path):
    """A value added to an enum has no counterpart in the old version: said so, never a guess."""
    target = tmp_path / "enum"
    shutil.copytree(books["old"], target)
    path = target / "vocabulary.policy"
    text = path.read_text(encoding="utf-8")
    anchor = 'enum opening_flow_document "企业号补充材料" / "Enterprise supplementary document"\n'
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, anchor + '  value other_doc "其他材料" / "Other document"\n'), encoding="utf-8")
    result = invoke(books["old"], target, "--policy", "cart.opening_flow")
    assert result.exit_code == 1
    assert ("  ? cart.opening_flow: cannot be compared (enum `opening_flow_document` has different values in the two "
            "versions; the solver cannot compare them)") in result.output
    # the order of an enum's values does not matter
    values = [line for line in text.splitlines(keepends=True) if line.startswith("  value ") and "_scan" in line]
    swapped = text.replace(values[0] + values[1], values[1] + values[0])
    assert swapped != text
    path.write_text(swapped, encoding="utf-8")
    result = invoke(books["old"], target, "--policy", "cart.opening_flow")
    assert result.exit_code == 0 and "  ✓ cart.opening_flow: decides alike (proved)" in result.output


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf"])
def test_a_bad_timeout_is_a_usage_error(books, value):
    result = cli(books["old"], books["old"], "--policy", "cart.opening", "--timeout", value)
    assert result.returncode == 2
    assert f"the time limit must be a positive number of seconds, not `{value}`" in result.stderr


@pytest.mark.parametrize("flag, value", [("--steps", "0"), ("--steps", "2.5"), ("--timeout", "0")])
def test_a_bad_limit_is_a_usage_error_even_without_proofs(books, flag, value):
    result = cli(books["old"], books["old"], "--policy", "cart.opening", "--no-prove", flag, value)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Invalid value for '{flag}'" in result.stderr


def test_a_proof_stops_at_its_step_limit_undecided(books):
    """`--steps` bounds a policy's proof by z3's resource steps, whatever the machine's load: finding the
    changed threshold takes a few hundred steps, so a limit of 100 leaves it undecided."""
    result = invoke(books["old"], books["new"], "--policy", "cart.opening", "--steps", "100", "--json")
    assert result.exit_code == 1, result.output
    (proof,) = json.loads(result.output)["proofs"]
    assert (proof["status"], proof["counterexample"]) == ("unknown", None)
    assert proof["reason"] == {"zh": "达到求解步数上限 100", "en": "solver step limit of 100 reached"}
    assert 100 <= proof["steps"] < 1000
    text = invoke(books["old"], books["new"], "--policy", "cart.opening", "--steps", "100")
    assert "  ? cart.opening: undecided (solver step limit of 100 reached)" in text.output
    found = json.loads(invoke(books["old"], books["new"], "--policy", "cart.opening", "--json").output)["proofs"]
    assert found[0]["status"] == "different" and 100 < found[0]["steps"] < 1000


def test_a_proof_within_its_time_limit_still_proves(books):
    result = invoke(books["old"], books["old"], "--policy", "cart.opening", "--timeout", "30", "--json")
    assert result.exit_code == 0, result.output
    (proof,) = json.loads(result.output)["proofs"]
    assert proof["status"] == "equivalent" and 0 < proof["seconds"] < 30 and 0 < proof["steps"] < 60_000_000
