"""Conflicts between documents (issue 12, part 2): `overlap` declarations, `check --deep`'s conflict
search confirmed by the whole-book decision, the book's resolutions, and `eval --book`'s conflicts,
over the real CLI and the real book (copied when a test edits it)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl

from conftest import POLICIES, ROOT

OTC = ROOT / "examples" / "otc_drug_listing.json"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *args, "--lang", "en"], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def deep_json() -> list[dict]:
    result = run("check", "policies", "--deep", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _edited_book(tmp_path: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    book = tmp_path / "policies"
    shutil.copytree(POLICIES, book)
    for name, pairs in edits.items():
        path = book / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, (name, old)
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return book


def _assume_block(name: str, file: str) -> str:
    """The text of one `assume` of the real book, with its about and source lines."""
    text = (POLICIES / file).read_text(encoding="utf-8")
    match = re.search(rf"^assume {name} .*?(?=^\S|\Z)", text, flags=re.S | re.M)
    assert match is not None
    return match.group(0)


def test_check_deep_lists_every_conflict_of_the_book_with_its_resolution(deep_json: list[dict]) -> None:
    conflicts = {d["code"]: [] for d in deep_json}
    for d in deep_json:
        conflicts[d["code"]].append(d)
    assert set(conflicts) == {"P0621", "P0622"}  # other notes (P0612, P0209) only with --info
    assert [(d["file"], d["line"]) for d in conflicts["P0621"]] == [("policies/book.policy", 10),
                                                                   ("policies/book.policy", 25)]
    otc, due = (d["message"]["en"] for d in conflicts["P0621"])
    assert otc.startswith("overlap `otc_drug_listing`: product.audit and listing.approval conflict, and product.audit "
                          "prevails (assume `otc_ban_prevails`); for example on ")
    assert otc.endswith("product.audit decides deny and listing.approval decides allow")
    assert due.startswith("overlap `deposit_due`: deposit.stage and shop.deposit conflict, and deposit.stage prevails "
                          "(assume `stage_share_prevails`)")
    assert re.search(r"its `agree` fails \(deposit\.required = ¥[\d,.]+, shop\.deposit = ¥[\d,.]+\)$", due)
    [known] = conflicts["P0622"]
    assert known["message"]["zh"].startswith("overlap `deposit_floor_and_standard`：product.audit 与 shop.deposit 冲突，"
                                             "保留为已知冲突（assume `deposit_floor_conflict`）")
    assert all(d["severity"] == "info" for d in deep_json)


def test_check_deep_text_shows_the_conflicts_without_info() -> None:
    result = run("check", "policies", "--deep")
    assert result.returncode == 0
    assert result.stdout.count("info[P062") == 3
    assert "P0612" not in result.stdout  # other notes only with --info
    assert result.stdout.rstrip().endswith("3 note(s), not problems")


def _record_of(message: str) -> dict:
    """The record a conflict diagnostic shows (the one JSON object in its message)."""
    return json.loads(re.search(r"\{.*\}", message).group(0))


def test_without_its_resolution_the_otc_conflict_is_a_warning_whose_record_eval_book_confirms(tmp_path: Path) -> None:
    book = _edited_book(tmp_path, {
        "book.policy": [("  prevails product.audit because otc_ban_prevails\n", "")],
        "product_audit.policy": [(_assume_block("otc_ban_prevails", "product_audit.policy"), "")],
    })
    result = run("check", str(book), "--deep", "--format", "json")
    assert result.returncode == 0  # a warning, not an error
    [warning] = [d for d in json.loads(result.stdout) if d["code"] == "P0620"]
    assert (warning["severity"], warning["line"]) == ("warning", 10)
    en = warning["message"]["en"]
    assert en.startswith("policies product.audit and listing.approval conflict on overlap `otc_drug_listing`: on ")
    assert en.endswith("product.audit decides deny and listing.approval decides allow")
    at = re.search(r"on (\d{4}-\d{2}-\d{2}), for the record", en).group(1)
    facts = tmp_path / "record.json"
    facts.write_text(json.dumps(_record_of(en), ensure_ascii=False), encoding="utf-8")
    decided = run("eval", "--book", "--facts", str(facts), "--at", at, "--json", "--policies", str(book))
    whole = json.loads(decided.stdout)
    assert whole["conflicts"] == [{
        "overlap": "otc_drug_listing", "label": {"zh": "药品类OTC产品能否上架", "en": "May an OTC drug product be listed?"},
        "policies": ["product.audit", "listing.approval"], "outcomes": {"product.audit": "deny", "listing.approval": "allow"},
        "resolution": "none"}]


def test_a_resolution_without_its_assume_is_an_error(tmp_path: Path) -> None:
    book = _edited_book(tmp_path, {
        "product_audit.policy": [(_assume_block("deposit_floor_conflict", "product_audit.policy"), "")],
    })
    result = run("check", str(book))
    assert result.returncode == 1
    out = result.stdout.replace(str(tmp_path) + "/", "")
    assert "policies/book.policy:21:26: error[P0808]: the reason `deposit_floor_conflict` of overlap " \
           "`deposit_floor_and_standard` is no assume of product.audit or shop.deposit" in out


def test_one_policy_checks_without_the_book_its_assumes_explain() -> None:
    # the overlap names its reason, not the other way round: a policy file stays self-contained
    result = run("check", "policies/product_audit.policy")
    assert result.returncode == 0 and result.stdout.endswith("no problems\n")


def test_two_values_sharing_a_label_are_compared_by_the_solver(tmp_path: Path) -> None:
    # the legacy shop-entry score threshold used to share its label with the alliance's
    book = _edited_book(tmp_path, {"shop_entry_legacy.policy": [
        ('"入驻店铺评分门槛" / "Shop-entry score threshold"', '"店铺评分门槛" / "Shop score threshold"')]})
    result = run("check", str(book), "--deep", "--format", "json")
    [warning] = [d for d in json.loads(result.stdout) if d["code"] == "P0624"]
    assert warning["file"].endswith("alliance_eligibility.policy") and warning["severity"] == "warning"
    assert warning["message"]["en"].startswith("`alliance.min_score` of alliance.eligibility and `legacy.min_score` of "
                                               "shop.entry_legacy share a label (Shop score threshold) yet differ: on ")
    assert warning["message"]["en"].endswith("they are 4.5 and 4.7")
    # the legacy follower threshold shares none with cart.opening's, and its period never meets theirs anyway
    assert [d["code"] for d in json.loads(result.stdout) if d["code"] == "P0624"] == ["P0624"]


def test_eval_book_lists_the_conflicts_of_the_record_with_their_resolutions() -> None:
    result = run("eval", "--book", "--facts", str(OTC), "--at", "2024-03-10", "--json")
    assert result.returncode == 2  # some policies lack facts for this record
    whole = json.loads(result.stdout)
    assert whole["outcome"] == "deny"
    assert whole["conflicts"] == [{
        "overlap": "otc_drug_listing", "label": {"zh": "药品类OTC产品能否上架", "en": "May an OTC drug product be listed?"},
        "policies": ["product.audit", "listing.approval"], "outcomes": {"product.audit": "deny", "listing.approval": "allow"},
        "resolution": "prevails", "prevails": "product.audit", "assumptions": ["otc_ban_prevails"]}]
    text = run("eval", "--book", "--facts", str(OTC), "--at", "2024-03-10").stdout
    assert ("  conflict  May an OTC drug product be listed? (otc_drug_listing): product.audit deny, listing.approval "
            "allow; product.audit prevails (see assumption otc_ban_prevails)\n") in text


def test_a_record_on_which_the_policies_agree_has_no_conflicts_key() -> None:
    book = policydsl.load(POLICIES)
    facts = json.loads(OTC.read_text(encoding="utf-8"))
    facts["product"]["category"] = "general_goods"
    whole = book.evaluate_all(facts, at=__import__("datetime").date(2024, 3, 10))
    assert whole.conflicts == () and "conflicts" not in whole.to_dict()
    facts["product"]["category"] = "otc_drugs"
    assert [c.overlap for c in book.evaluate_all(facts, at=__import__("datetime").date(2024, 3, 10)).conflicts] == \
        ["otc_drug_listing"]


def test_the_legacy_entry_conditions_conflict_with_cart_opening_once_their_periods_meet(tmp_path: Path) -> None:
    proved = run("check", "policies", "--deep", "--info", "--format", "json")
    assert [d["message"]["en"] for d in json.loads(proved.stdout) if d["code"] == "P0626"] == [
        "overlap `legacy_entry_and_cart`: the solver proved shop.entry_legacy and cart.opening agree on every record "
        "and day it speaks of"]
    book = _edited_book(tmp_path, {"shop_entry_legacy.policy": [
        ("  effective from 2018-10-01 until 2020-04-06\n", "  effective from 2018-10-01 until 2020-12-31\n")]})
    result = run("check", str(book), "--deep", "--format", "json")
    [warning] = [d for d in json.loads(result.stdout) if d["code"] == "P0620"]
    en = warning["message"]["en"]
    assert "conflict on overlap `legacy_entry_and_cart`: on 2020-" in en
    assert re.search(r"shop\.entry_legacy decides (allow|deny) and cart\.opening decides (allow|deny)$", en)
    assert "decides allow" in en and "decides deny" in en


def test_an_overlap_asking_which_rules_fired_is_decided_with_the_trace(tmp_path: Path) -> None:
    """`fires` reads the trace, which whole-book decisions leave out by default: an overlap using it
    makes the book keep the trace, so its conflicts are still found."""
    from policydsl.authoring import _overlap_example, _question, example_files

    text = _overlap_example(_question(agree="fires(demo.a, fans) == fires(demo.b, fans)"))
    for name, body in example_files(text):
        (tmp_path / name).write_text(body, encoding="utf-8")
    (tmp_path / "common.policy").write_text((POLICIES / "common.policy").read_text(encoding="utf-8"), encoding="utf-8")
    book = policydsl.load(tmp_path)
    at = __import__("datetime").date(2024, 3, 1)
    assert [c.overlap for c in book.evaluate_all({"account": {"fans": 700}}, at).conflicts] == ["fans_question"]
    assert book.evaluate_all({"account": {"fans": 1200}}, at).conflicts == ()


def test_an_ill_typed_fact_an_overlap_reads_is_an_error_in_the_parts_that_read_it_not_of_the_whole_book(
        tmp_path: Path) -> None:
    """`account.fans` is read by cart.opening and by the overlaps of the legacy entry conditions: a record giving
    it as text is still decided whole: cart.opening's part is the error (as `eval cart.opening` says it), the
    other policies are decided, and the overlaps that cannot be checked report no conflict. Before, the overlaps'
    reading of the record raised the error for the whole book."""
    facts = json.loads(OTC.read_text(encoding="utf-8"))
    facts.setdefault("account", {})["fans"] = "many"
    whole = policydsl.load(POLICIES).evaluate_all(facts, at=__import__("datetime").date(2024, 3, 10))
    part = whole.part("cart.opening")
    assert (part.status, part.error.code, part.error.to_dict()["error"]["facts"]) == ("error", "bad_facts", ["account.fans"])
    assert (whole.outcome, [c.overlap for c in whole.conflicts]) == ("deny", ["otc_drug_listing"])
    (tmp_path / "facts.json").write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    printed = json.loads(run("eval", "--book", "--facts", str(tmp_path / "facts.json"), "--at", "2024-03-10",
                             "--json").stdout)
    [cart] = [p for p in printed["policies"] if p["policy"] == "cart.opening"]
    alone = json.loads(run("eval", "cart.opening", "--facts", str(tmp_path / "facts.json"), "--at", "2024-03-10",
                           "--json").stdout)
    assert (cart["status"], cart["error"]) == ("error", alone["error"])


def test_each_conflict_search_decides_only_its_two_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """N policies whose values share a label are N(N-1)/2 questions for `check --deep`, and for it alone;
    confirming a candidate of one decides its two policies and checks its one claim. It decided the whole book and checked every
    overlap for each candidate: with N = 100, 500 s instead of 26 s. Counted: the decisions per question are the
    same at 4 and at 8 policies, and every pair is reported with its two values."""
    from policydsl.loader import analyse
    from policydsl.runtime import book as runtime_book
    from policydsl.verify.analyses import deepen

    decided: list[str] = []
    real = runtime_book.ev.evaluate
    monkeypatch.setattr(runtime_book.ev, "evaluate", lambda policy, *a, **k: decided.append(policy.id) or real(policy, *a, **k))
    per_pair = {}
    for n in (4, 8):
        book = tmp_path / f"b{n}"
        book.mkdir()
        (book / "vocabulary.policy").write_text('entity shop "店" / "Shop"\n  fact hours: count "时长" / "Hours"\n',
                                                encoding="utf-8")
        for i in range(n):
            (book / f"p{i}.policy").write_text(
                f'policy p{i}\n  title "政策{i}" / "Policy {i}"\n  effective from 2024-01-01\n\n'
                f'define shop.fee{i}: money "保证金" / "Deposit"\n  = ¥{i}\n\n'
                f'rule r "规则" / "Rule"\n  require shop.hours <= {i}\n    else deny c "超过" / "over"\n'
                '  source "x.txt" quote "x"\n', encoding="utf-8")
        decided.clear()
        found = [d for d in deepen(analyse(sorted(book.glob("*.policy")))).diagnostics if d.code == "P0624"]
        pairs = n * (n - 1) // 2
        assert len(found) == pairs
        assert "`shop.fee0` of p0 and `shop.fee1` of p1 share a label (Deposit) yet differ" in found[0].message["en"]
        per_pair[n] = len(decided) / pairs
        # deciding never asks them: a loaded book compiles none of their claims (it compiled all N(N-1)/2: with 200
        # such policies a load took 8.3 s and 208 MB, now 1.9 s and 71 MB)
        loaded = policydsl.load(book)
        assert loaded.book is None and loaded.index.overlaps == () and len(loaded.model.overlaps) == pairs
    assert per_pair[4] == per_pair[8]
