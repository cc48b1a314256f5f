"""The README documents what the tool really does: its step phrases and its example decision."""
from __future__ import annotations

import datetime as dt
import json
import re

import policydsl
from policydsl.bdd.phrases import PHRASES

from conftest import POLICIES, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == ["make main", "make test"]


def test_every_step_phrase_is_documented_in_both_languages():
    for phrase in PHRASES:
        row = f"| {phrase.kind} | `{phrase.example_zh}` | `{phrase.example_en}` | {phrase.doc_zh} / {phrase.doc_en} |"
        assert row in README, row


def test_every_documented_example_matches_its_own_pattern():
    for phrase in PHRASES:
        zh_text = phrase.example_zh.split(" ", 1)[1]
        en_text = phrase.example_en.split(" ", 1)[1]
        assert re.fullmatch(phrase.zh, zh_text), phrase.example_zh
        assert re.fullmatch(phrase.en, en_text), phrase.example_en


def test_readme_decision_json_is_the_real_output():
    block = README.split("prints `Decision.to_dict()`:", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    documented = json.loads(block)
    book = policydsl.load(POLICIES)
    decision = book.evaluate("cart.opening", {"account": {"kind": "个人账号", "fans": 999, "real_name": True},
                                              "product": {"special_category": False}}, at=dt.date(2023, 12, 20))
    assert decision.to_dict() == documented
