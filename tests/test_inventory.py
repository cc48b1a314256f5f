"""The traceability table: inventory id → document → policy → rules → scenarios → assumptions."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl
from policydsl import inventory as inv

from conftest import POLICIES, ROOT, SEEDS

INVENTORY = SEEDS / "INVENTORY.md"


def test_rows_trace_rules_scenarios_and_assumptions():
    rows = {r.id: r for r in inv.build(policydsl.load(POLICIES).model, ROOT / "features")}
    r = rows["R004.2"]
    assert r.policies == ["official_account.own_store_only"]
    assert r.rules == ["official_account.own_store_only:live_room_own_store",
                       "official_account.own_store_only:showcase_video_own_store"]
    assert "official_account.zh.feature: 公告之前的日期不作评估" in r.scenarios
    assert r.documents == {"004_78c86d6d1d54721e.txt"}
    assert r.status == "ok"


def test_inventory_file_adds_missing_ids_and_flags(tmp_path):
    inventory = tmp_path / "INVENTORY.md"
    inventory.write_text("| R004.2 | rule | Timeline ⚠ fuzzy dates |\n| R009.1 | rule | nowhere |\n"
                         "| R009.2 | info | a note |\n", encoding="utf-8")
    rows = {r.id: r for r in inv.build(policydsl.load(POLICIES).model, ROOT / "features", inventory)}
    assert rows["R004.2"].flagged and rows["R004.2"].assumptions and rows["R004.2"].status == "ok"
    assert (rows["R009.1"].kind, rows["R009.1"].status) == ("rule", "MISSING")
    assert (rows["R009.2"].kind, rows["R009.2"].status) == ("info", "MISSING")


def test_replace_block_keeps_the_rest_of_the_file():
    text = f"head\n{inv.START}\nold\n{inv.END}\ntail\n"
    assert inv.replace_block(text, "new") == f"head\n{inv.START}\nnew\n{inv.END}\ntail\n"
    with pytest.raises(ValueError):
        inv.replace_block("no markers", "new")


@pytest.mark.skipif(not INVENTORY.is_file(), reason="the source inventory is not beside the project")
def test_readme_table_is_fresh_and_every_inventory_id_is_encoded_tested_and_resolved():
    cli = [sys.executable, "-m", "policydsl.cli", "inventory", "--inventory", str(INVENTORY), "--lang", "en"]
    fresh = subprocess.run([*cli, "--check", "README.md"], cwd=ROOT, capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
    strict = subprocess.run([*cli, "--strict"], cwd=ROOT, capture_output=True, text=True)
    assert strict.returncode == 0, strict.stderr
    ids = {line.split("|")[1].strip() for line in INVENTORY.read_text(encoding="utf-8").splitlines()
           if line.startswith("| R")}
    table = Path(ROOT / "README.md").read_text(encoding="utf-8").split(inv.START, 1)[1].split(inv.END, 1)[0]
    assert ids == {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| R")}


def test_a_fifo_a_device_or_a_file_not_in_utf8_is_unreadable_input_not_a_hang(tmp_path):
    # the inventory and the files --update/--check rewrite were read whole with no check (/dev/zero: until memory ran
    # out; not UTF-8: an internal error, exit 3), and a FIFO named *.feature in the features folder blocked for good
    features = tmp_path / "features"
    features.mkdir()
    os.mkfifo(features / "pipe.feature")
    (tmp_path / "gbk.md").write_bytes("| R004.2 | rule | 时间 |\n".encode("gb18030"))
    cli = [sys.executable, "-m", "policydsl.cli", "inventory", "--policies", str(POLICIES), "--features", str(features),
           "--lang", "en"]
    listed = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "| R004.2 |" in listed.stdout  # the FIFO is left out, as a broken feature is
    for option, path, reason in (("--inventory", "/dev/zero", "larger than 8 MiB"), ("--check", "/dev/zero",
                                 "larger than 8 MiB"), ("--inventory", tmp_path / "gbk.md", "not UTF-8 text"),
                                 ("--update", tmp_path / "gbk.md", "not UTF-8 text")):
        result = subprocess.run([*cli, option, str(path)], capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stderr) == (2, f"error: cannot read {path}: {reason}\n")
