"""The VS Code extension in editors/vscode: its JSON files, and the TextMate grammar applied to the rule book."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import POLICIES, ROOT

EXTENSION = ROOT / "editors" / "vscode"
GRAMMAR_FILE = EXTENSION / "syntaxes" / "policydsl.tmLanguage.json"


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


GRAMMAR = _json(GRAMMAR_FILE)


def _rules(patterns: list[dict]) -> list[dict]:
    """Resolve `#name` includes against the repository, in order."""
    out = []
    for rule in patterns:
        if "include" in rule:
            out.extend(_rules([GRAMMAR["repository"][rule["include"].removeprefix("#")]]))
        else:
            out.append(rule)
    return out


def _all_regexes(rules: list[dict]) -> list[str]:
    found = []
    for rule in rules:
        found += [rule[key] for key in ("match", "begin", "end") if key in rule]
        found += _all_regexes(_rules(rule.get("patterns", [])))
    return found


def _scopes_of(rule: dict, m: re.Match) -> list[tuple[str, str]]:
    """(text, scope) pieces of one match: captures where given, else the whole match under the rule's name."""
    if "captures" in rule:
        return [(m.group(int(i)), c["name"]) for i, c in sorted(rule["captures"].items()) if m.group(int(i))]
    return [(m.group(0), rule["name"])]


def tokenize(line: str) -> list[tuple[str, str]]:
    """A first-match scanner over the grammar's top-level patterns, the way TextMate applies `patterns`:
    at each position the earliest match wins, ties go to the earlier pattern; begin/end rules scan their own
    patterns until `end`. Characters nothing matches come out with the scope "UNMATCHED"."""
    return _scan(line, 0, _rules(GRAMMAR["patterns"]), None)[0]


def _scan(line: str, pos: int, rules: list[dict], end: str | None) -> tuple[list[tuple[str, str]], int, str]:
    """Tokens from `pos` until `end` matches (or the line ends); the position after it and its text."""
    tokens: list[tuple[str, str]] = []
    while pos < len(line):
        candidates = [(m.start(), i, rule, m) for i, rule in enumerate(rules)
                      if (m := re.compile(rule.get("match") or rule["begin"]).search(line, pos))]
        if end is not None and (stop := re.compile(end).search(line, pos)):
            candidates.append((stop.start(), -1, None, stop))
        if not candidates:
            break
        start, _, rule, m = min(candidates, key=lambda c: (c[0], c[1]))
        tokens += [(line[pos:start], "UNMATCHED")] if start > pos else []
        if rule is None:  # the enclosing begin/end rule ends here
            return tokens, m.end(), m.group(0)
        if "begin" in rule:
            inner, pos, closing = _scan(line, m.end(), _rules(rule.get("patterns", [])), rule["end"])
            tokens += [(m.group(0), rule["name"])] + [(t, s if s != "UNMATCHED" else rule["name"]) for t, s in inner]
            tokens += [(closing, rule["name"])] if closing else []
            continue
        tokens += _scopes_of(rule, m)
        pos = max(m.end(), pos + 1)
    tokens += [(line[pos:], "UNMATCHED")] if pos < len(line) else []
    return tokens, len(line), ""


def test_json_files_parse_and_the_manifest_points_at_real_files() -> None:
    manifest = _json(EXTENSION / "package.json")
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert (language["id"], language["extensions"]) == ("policydsl", [".policy"])
    assert (grammar["language"], grammar["scopeName"]) == ("policydsl", "source.policydsl")
    assert (EXTENSION / language["configuration"]).is_file()
    assert (EXTENSION / grammar["path"]).resolve() == GRAMMAR_FILE.resolve()
    assert GRAMMAR["scopeName"] == "source.policydsl"
    config = _json(EXTENSION / language["configuration"])
    assert config["comments"] == {"lineComment": "#"}
    assert config["brackets"] == [["(", ")"], ["[", "]"], ["{", "}"]]
    assert {"open": "\"", "close": "\"", "notIn": ["string", "comment"]} in config["autoClosingPairs"]
    assert "~/.vscode/extensions" in (EXTENSION / "README.md").read_text(encoding="utf-8")


def test_every_regex_compiles_with_python_re() -> None:
    regexes = _all_regexes(_rules(GRAMMAR["patterns"]))
    assert len(regexes) == 28
    for regex in regexes:
        re.compile(regex)
    assert all(f"#{name}" in {p["include"] for p in GRAMMAR["patterns"]} for name in GRAMMAR["repository"])


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.policy")), ids=lambda p: p.name)
def test_the_whole_rule_book_is_tokenised(path: Path) -> None:
    unmatched = [(number, text) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 for text, scope in tokenize(line) if scope == "UNMATCHED" and text.strip()]
    assert unmatched == []


def test_scopes_of_a_sample() -> None:
    assert tokenize('rule fans_2023 "粉丝 {account.fans}\\"" / "Fans"  # 注释') == [
        ("rule", "storage.type.declaration.policydsl"), ("fans_2023", "entity.name.declaration.policydsl"),
        (" ", "UNMATCHED"), ('"', "string.quoted.double.policydsl"), ("粉丝 ", "string.quoted.double.policydsl"),
        ("{account.fans}", "variable.other.placeholder.policydsl"), ('\\"', "constant.character.escape.policydsl"),
        ('"', "string.quoted.double.policydsl"), (" ", "UNMATCHED"), ("/", "keyword.operator.policydsl"),
        (" ", "UNMATCHED"), ('"', "string.quoted.double.policydsl"), ("Fans", "string.quoted.double.policydsl"),
        ('"', "string.quoted.double.policydsl"), ("  ", "UNMATCHED"), ("# 注释", "comment.line.number-sign.policydsl")]


def _significant(line: str) -> list[tuple[str, str]]:
    return [(text, scope) for text, scope in tokenize(line) if text.strip()]


def test_literals_keywords_and_names() -> None:
    assert _significant("  implements R000.1, R001.1") == [
        ("implements", "keyword.control.clause.policydsl"), ("R000.1", "constant.other.inventory-id.policydsl"),
        (",", "punctuation.separator.policydsl"), ("R001.1", "constant.other.inventory-id.policydsl")]
    assert _significant("  = ¥2000 when today >= 2023-12-20 + 7 working days and x.rate < 80%") == [
        ("=", "keyword.operator.policydsl"), ("¥2000", "constant.numeric.money.policydsl"),
        ("when", "keyword.control.clause.policydsl"), ("today", "constant.language.policydsl"),
        (">=", "keyword.operator.policydsl"), ("2023-12-20", "constant.numeric.date.policydsl"),
        ("+", "keyword.operator.policydsl"), ("7", "constant.numeric.integer.policydsl"),
        ("working days", "keyword.other.unit.duration.policydsl"), ("and", "keyword.operator.logical.policydsl"),
        ("x.rate", "variable.other.policydsl"), ("<", "keyword.operator.policydsl"),
        ("80%", "constant.numeric.percent.policydsl")]
    assert _significant("    else deny fans_low") == [
        ("else", "keyword.control.clause.policydsl"), ("deny", "keyword.control.outcome.policydsl"),
        ("fans_low", "variable.other.policydsl")]
    assert _significant("  hit collect max") == [
        ("hit", "keyword.control.clause.policydsl"), ("collect", "constant.language.hit-policy.policydsl"),
        ("max", "constant.language.aggregate.policydsl")]
    assert _significant("input shop.categories: set of category") == [
        ("input", "storage.type.declaration.policydsl"), ("shop.categories", "entity.name.declaration.policydsl"),
        (":", "punctuation.separator.policydsl"), ("set", "keyword.control.clause.policydsl"),
        ("of", "keyword.control.clause.policydsl"), ("category", "variable.other.policydsl")]
    assert _significant("  row (180, inf): not_open, 1.5") == [
        ("row", "keyword.control.clause.policydsl"), ("(", "punctuation.separator.policydsl"),
        ("180", "constant.numeric.integer.policydsl"), (",", "punctuation.separator.policydsl"),
        ("inf", "constant.language.policydsl"), (")", "punctuation.separator.policydsl"),
        (":", "punctuation.separator.policydsl"), ("not_open", "constant.language.policydsl"),
        (",", "punctuation.separator.policydsl"), ("1.5", "constant.numeric.decimal.policydsl")]
    # names that merely start with a keyword stay names; a Chinese name is flagged as the checker does (P0102)
    assert _significant("allowance max_fee money 粉丝数") == [
        ("allowance", "variable.other.policydsl"), ("max_fee", "variable.other.policydsl"),
        ("money", "support.type.policydsl"), ("粉丝数", "invalid.illegal.character.policydsl")]


def _words(name: str) -> set[str]:
    """The alternatives of a `\\b(?:a|b)\\b` rule of the repository."""
    match = re.fullmatch(r"\\b\(\?:([a-z_|]+)\)\\b", GRAMMAR["repository"][name]["match"])
    assert match, name
    return set(match.group(1).split("|"))


def test_the_keyword_lists_match_the_pygments_lexer() -> None:
    from policydsl import pygments_lexer as lexer

    assert _words("declaration-keyword") == set(lexer.DECLARATIONS)
    assert _words("outcome") == set(lexer.OUTCOMES)
    assert _words("clause") | _words("logical") == set(lexer.CLAUSES)
    assert _words("constant") | _words("hit-policy") | _words("aggregate") == set(lexer.CONSTANTS)
    assert _words("type") == set(lexer.TYPES)


def test_every_keyword_of_the_language_is_highlighted() -> None:
    from policydsl.semantics.check import BUILTINS

    lark = (ROOT / "policydsl" / "syntax" / "grammar.lark").read_text(encoding="utf-8")
    literals = set(re.findall(r'"([a-z_]+)"', lark))
    terminals = {word for regex in re.findall(r"^(?:OUTCOME|HIT_POLICY|AGGREGATOR|AGG)\.2: /\(([a-z|]+)\)", lark, re.M)
                 for word in regex.split("|")}
    keywords = set().union(*(_words(name) for name in ("declaration-keyword", "outcome", "clause", "logical",
                                                       "constant", "hit-policy", "aggregate", "builtin")))
    assert len(literals) == 62 and len(terminals) == 12
    assert literals | terminals == keywords - set(BUILTINS) - {"fires"}  # fires(rule): a name, read by the checker
    assert _words("builtin") == set(BUILTINS) | {"covered", "fires"}
    assert _significant("= days_between(a, today) when covered(r)")[:2] == [
        ("=", "keyword.operator.policydsl"), ("days_between", "support.function.builtin.policydsl")]


_TEXTMATE_KIND = {  # scope prefix -> the kind both highlighters must agree on
    "comment": "comment", "string": "string", "variable.other.placeholder": "string",
    "constant.character.escape": "string", "constant.other.inventory-id": "inventory", "constant.numeric": "number",
    "storage.type.declaration": "declaration", "keyword.control.outcome": "outcome",
    "keyword.control.clause": "clause", "keyword.operator.logical": "clause", "constant.language": "constant",
    "support.type": "type", "keyword.other.unit.duration": "type", "entity.name": "name",
    "support.function.builtin": "name", "variable.other": "name", "keyword.operator": "operator",
    "punctuation": "punctuation", "invalid.illegal": "illegal"}


def _textmate_kinds(line: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    in_string = False
    for text, scope in tokenize(line):
        kind = next((k for prefix, k in _TEXTMATE_KIND.items() if scope.startswith(prefix)), scope)
        if in_string:  # one string, cut into pieces by escapes and placeholders
            out[-1] = (out[-1][0] + text, "string")
            in_string = not (scope == "string.quoted.double.policydsl" and text == '"')
        elif text.strip():
            out.append((text, kind))
            in_string = scope == "string.quoted.double.policydsl" and text == '"'
    return out


def _pygments_kinds(line: str) -> list[tuple[str, str]]:
    from pygments.token import Comment, Keyword, Literal, Name, Number, Operator, Punctuation, String, Text

    kinds = [(Comment, "comment"), (String, "string"), (Name.Label, "inventory"), (Literal.Date, "number"),
             (Number, "number"), (Keyword.Declaration, "declaration"), (Keyword.Reserved, "outcome"),
             (Keyword.Constant, "constant"), (Keyword.Type, "type"), (Keyword, "clause"), (Name, "name"),
             (Operator, "operator"), (Punctuation, "punctuation"), (Text, "illegal")]
    from policydsl.pygments_lexer import PolicyLexer

    return [(text, next(k for token_type, k in kinds if ttype in token_type))
            for ttype, text in PolicyLexer().get_tokens(line) if text.strip()]


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.policy")), ids=lambda p: p.name)
def test_the_grammar_and_the_pygments_lexer_agree_on_the_rule_book(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        assert _textmate_kinds(line) == _pygments_kinds(line), line


PROPERTY_BLOCK = [
    'property personal_low_fans_denied "粉丝不足 1000 的个人账号一律拒绝" / "Personal accounts under 1,000 followers"',
    "  effective from 2023-01-01 until 2023-12-31",
    "  when account.kind == personal and account.fans < 1000  # 前提",
    "  expect outcome == deny and fires(fans_2023) or outcome != allow",
]


def test_a_property_block_is_scoped() -> None:
    assert all(scope != "UNMATCHED" for line in PROPERTY_BLOCK for text, scope in tokenize(line) if text.strip())
    assert _significant(PROPERTY_BLOCK[0])[:2] == [
        ("property", "storage.type.declaration.policydsl"),
        ("personal_low_fans_denied", "entity.name.declaration.policydsl")]
    assert _significant(PROPERTY_BLOCK[3]) == [
        ("expect", "keyword.control.clause.policydsl"), ("outcome", "constant.language.policydsl"),
        ("==", "keyword.operator.policydsl"), ("deny", "keyword.control.outcome.policydsl"),
        ("and", "keyword.operator.logical.policydsl"), ("fires", "support.function.builtin.policydsl"),
        ("(", "punctuation.separator.policydsl"), ("fans_2023", "variable.other.policydsl"),
        (")", "punctuation.separator.policydsl"), ("or", "keyword.operator.logical.policydsl"),
        ("outcome", "constant.language.policydsl"), ("!=", "keyword.operator.policydsl"),
        ("allow", "keyword.control.outcome.policydsl")]
    # names that merely start with the new words stay names
    assert _significant("properties expected outcomes fired") == [
        ("properties", "variable.other.policydsl"), ("expected", "variable.other.policydsl"),
        ("outcomes", "variable.other.policydsl"), ("fired", "variable.other.policydsl")]


@pytest.mark.parametrize("line", PROPERTY_BLOCK)
def test_the_grammar_and_the_pygments_lexer_agree_on_a_property(line: str) -> None:
    assert _textmate_kinds(line) == _pygments_kinds(line)


def test_an_unterminated_string_ends_at_the_line_end() -> None:
    assert tokenize('"abc') == [('"', "string.quoted.double.policydsl"), ("abc", "string.quoted.double.policydsl")]
    # any `{…}` is a placeholder, as the checker reads it: a Chinese one is scoped too (and reported as P0403)
    assert tokenize('"{粉丝数}"') == [('"', "string.quoted.double.policydsl"),
                                   ("{粉丝数}", "variable.other.placeholder.policydsl"),
                                   ('"', "string.quoted.double.policydsl")]


def test_a_unit_clause_is_a_reference_and_a_unit_line_a_declaration() -> None:
    """`unit follower` on an input or define line names the unit it is measured in (a reference, as the LSP
    links it); only a line that starts with `unit` declares one."""
    assert _significant('unit follower "人" / "followers"')[:2] == [
        ("unit", "storage.type.declaration.policydsl"), ("follower", "entity.name.declaration.policydsl")]
    for line in ('input account.fans: count "粉丝数" / "Followers" unit follower',
                 'define cart.min_fans: count "粉丝门槛" / "Follower threshold" unit follower'):
        assert _significant(line)[-2:] == [("unit", "keyword.control.clause.policydsl"),
                                            ("follower", "variable.other.unit.policydsl")]
