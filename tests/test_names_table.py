"""The table of names the checker records in the model (`Model.names`, `Model.definitions`): every name it
resolved, of every kind, with what it names; the language server reads it (no index of its own)."""
from __future__ import annotations

from pathlib import Path

import pytest

from policydsl.loader import analyse_sources
from policydsl.semantics.model import Model
from policydsl.source import SourceFile

from conftest import ROOT
from test_lsp import TIMEOUT, Client, doc, open_doc, position_of

SHARED = '''unit fan "人" / "followers"

enum tier "等级" / "Tier"
  value low "低" / "Low"
  value high "高" / "High"

entity account "账号" / "Account"
  fact fans: count "粉丝数" / "Followers" unit fan
  fact id: text "账号编号" / "Account id"

overlap one_question "同一问题" / "One question"
  between demo.a and demo.b
  prevails demo.a because a_wins

property a_limit_positive "甲的门槛为正" / "A's limit is positive"
  when outcome(demo.a) == deny
  expect a.limit > 0
'''
A = '''policy demo.a
  title "甲" / "A"

input a.kind: tier "类别" / "Kind"

table grade(t: tier) -> count "门槛表" / "Limit table"
  row low: 10
  row high: 100

define a.limit: count "门槛" / "Limit" unit fan
  = grade(a.kind)

rollout slow "逐步" / "Slowly"
  key account.id
  phase all "全部" / "All" from 2024-01-01 until 2024-12-31 ramp 0% to 100%

rule few "粉丝少" / "Few followers"
  when covered(slow) and a.kind == high
  require account.fans >= a.limit
    else deny too_few "粉丝 {account.fans} 不足" / "{account.fans} is too few"
  source "doc.txt" quote "x"

rule vip "大号" / "Big account"
  exception to few priority 1
  when a.kind == low
  allow vip_ok "可以" / "Fine"
  source "doc.txt" quote "x"

assume a_wins "甲为准" / "A prevails"
  about few, account.fans

property few_denies "少则拒" / "Few is denied"
  expect fires(few) == (outcome == deny)
'''
B = '''policy demo.b
  title "乙" / "B"

rule any_fans "有粉丝" / "Has followers"
  require account.fans > 0
    else deny none "无粉丝" / "No followers"
  source "doc.txt" quote "x"
'''
FILES = {"shared.policy": SHARED, "a.policy": A, "b.policy": B}

# (file, the name as written, what it names, whether it is the declaration), by file and position
TABLE = [
    ("a.policy", "demo.a", ("policy", "demo.a"), True),
    ("a.policy", "a.kind", ("input", "demo.a", "a.kind"), True),
    ("a.policy", "tier", ("enum", "tier"), False),  # a type name
    ("a.policy", "grade", ("table", "demo.a", "grade"), True),
    ("a.policy", "tier", ("enum", "tier"), False),
    ("a.policy", "low", ("value", "tier", "low"), False),  # table rows
    ("a.policy", "high", ("value", "tier", "high"), False),
    ("a.policy", "a.limit", ("define", "demo.a", "a.limit"), True),
    ("a.policy", "fan", ("unit", "fan"), False),  # `unit` after a value
    ("a.policy", "grade", ("table", "demo.a", "grade"), False),  # a table called
    ("a.policy", "a.kind", ("input", "demo.a", "a.kind"), False),
    ("a.policy", "slow", ("rollout", "demo.a", "slow"), True),
    ("a.policy", "account.id", ("fact", "account.id"), False),  # a rollout's `key`
    ("a.policy", "few", ("rule", "demo.a", "few"), True),
    ("a.policy", "slow", ("rollout", "demo.a", "slow"), False),  # covered(slow)
    ("a.policy", "a.kind", ("input", "demo.a", "a.kind"), False),
    ("a.policy", "high", ("value", "tier", "high"), False),
    ("a.policy", "account.fans", ("fact", "account.fans"), False),
    ("a.policy", "a.limit", ("define", "demo.a", "a.limit"), False),
    ("a.policy", "too_few", ("code", "demo.a", "too_few"), True),
    ("a.policy", "account.fans", ("fact", "account.fans"), False),  # placeholders, in both languages
    ("a.policy", "account.fans", ("fact", "account.fans"), False),
    ("a.policy", "vip", ("rule", "demo.a", "vip"), True),
    ("a.policy", "few", ("rule", "demo.a", "few"), False),  # exception to
    ("a.policy", "a.kind", ("input", "demo.a", "a.kind"), False),
    ("a.policy", "low", ("value", "tier", "low"), False),
    ("a.policy", "vip_ok", ("code", "demo.a", "vip_ok"), True),
    ("a.policy", "a_wins", ("assume", "demo.a", "a_wins"), True),
    ("a.policy", "few", ("rule", "demo.a", "few"), False),  # about
    ("a.policy", "account.fans", ("fact", "account.fans"), False),
    ("a.policy", "few_denies", ("property", "demo.a", "few_denies"), True),
    ("a.policy", "few", ("rule", "demo.a", "few"), False),  # fires(few)
    ("b.policy", "demo.b", ("policy", "demo.b"), True),
    ("b.policy", "any_fans", ("rule", "demo.b", "any_fans"), True),
    ("b.policy", "account.fans", ("fact", "account.fans"), False),
    ("b.policy", "none", ("code", "demo.b", "none"), True),
    ("shared.policy", "fan", ("unit", "fan"), True),
    ("shared.policy", "tier", ("enum", "tier"), True),
    ("shared.policy", "low", ("value", "tier", "low"), True),
    ("shared.policy", "high", ("value", "tier", "high"), True),
    ("shared.policy", "account", ("entity", "account"), True),
    ("shared.policy", "fans", ("fact", "account.fans"), True),
    ("shared.policy", "fan", ("unit", "fan"), False),
    ("shared.policy", "id", ("fact", "account.id"), True),
    ("shared.policy", "one_question", ("overlap", "one_question"), True),
    ("shared.policy", "demo.a", ("policy", "demo.a"), False),  # between
    ("shared.policy", "demo.b", ("policy", "demo.b"), False),
    ("shared.policy", "demo.a", ("policy", "demo.a"), False),  # prevails
    ("shared.policy", "a_wins", ("assume", "demo.a", "a_wins"), False),  # because
    ("shared.policy", "demo.a", ("policy", "demo.a"), False),  # outcome(demo.a) in a book property
    ("shared.policy", "a.limit", ("define", "demo.a", "a.limit"), False),  # a policy's value it reads
]


@pytest.fixture(scope="module")
def model() -> Model:
    analysis = analyse_sources([SourceFile(path=path, text=text) for path, text in FILES.items()])
    assert [d.code for d in analysis.diagnostics] == []
    assert analysis.model is not None
    return analysis.model


def test_the_checker_records_every_name_it_resolves(model: Model) -> None:
    assert [(o.span.file, o.span.text, o.key, o.is_def) for o in model.names] == TABLE


def test_each_key_has_its_declaration(model: Model) -> None:
    declared = {key: (span.file, span.text, span.line) for key, span in model.definitions.items()}
    assert set(declared) == {key for _, _, key, is_def in TABLE if is_def}
    assert declared[("fact", "account.fans")] == ("shared.policy", "fans", 8)
    assert declared[("assume", "demo.a", "a_wins")] == ("a.policy", "a_wins", 29)
    assert [(o.span.file, o.span.line, o.is_def) for o in model.uses(("rule", "demo.a", "few"))] == [
        ("a.policy", 17, True), ("a.policy", 24, False), ("a.policy", 30, False), ("a.policy", 33, False)]


def test_a_bare_word_is_looked_up_in_the_table(model: Model) -> None:
    """`resolve_word` (a broken buffer): facts first, then the policy's own names, then the book's."""
    words = ["account.fans", "a.kind", "a.limit", "grade", "slow", "few", "few_denies", "demo.b", "tier", "fan",
             "high", "a_wins", "nothing"]
    assert [model.resolve_word(w, "demo.a") for w in words] == [
        ("fact", "account.fans"), ("input", "demo.a", "a.kind"), ("define", "demo.a", "a.limit"),
        ("table", "demo.a", "grade"), ("rollout", "demo.a", "slow"), ("rule", "demo.a", "few"),
        ("property", "demo.a", "few_denies"), ("policy", "demo.b"), ("enum", "tier"), ("unit", "fan"),
        ("value", "tier", "high"), None, None]
    assert model.resolve_word("few", "demo.b") is None and model.resolve_word("few", None) is None
    assert (model.policy_in("a.policy"), model.policy_in("shared.policy")) == ("demo.a", None)


def test_the_server_jumps_from_a_book_property_to_the_value_it_reads(tmp_path: Path) -> None:
    """A value a book property reads, resolved by the checker, is a reference of the policy's value: go-to-definition
    and references (the real server over stdio)."""
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    client = Client(ROOT)
    try:
        client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        client.notify("initialized", {})
        uri = open_doc(client, tmp_path / "shared.policy")
        assert client.diagnostics(uri) == []
        at = position_of(SHARED, "expect a.limit", len("expect a.l"))
        a_uri = (tmp_path / "a.policy").as_uri()
        declared = {"start": position_of(A, "define a.limit", 7), "end": position_of(A, "define a.limit", 14)}
        assert client.request("textDocument/definition", doc(uri, at)) == {"uri": a_uri, "range": declared}
        refs = client.request("textDocument/references", {**doc(uri, at), "context": {"includeDeclaration": True}})
        assert sorted((r["uri"] == uri, r["range"]["start"]["line"]) for r in refs) == [(False, 9), (False, 18),
                                                                                       (True, 16)]
    finally:
        client.proc.kill()
        client.proc.wait(TIMEOUT)
