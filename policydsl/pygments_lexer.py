"""A Pygments lexer for .policy files (entry point `pygments.lexers`: `policydsl`), for editors,
documentation tools and terminals that highlight with Pygments."""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Literal, Name, Number, Operator, Punctuation, String, Text, Whitespace

DECLARATIONS = ("policy", "enum", "value", "unit", "input", "define", "rule", "table", "rollout", "phase", "assume",
                "note", "property", "entity", "fact", "overlap")
CLAUSES = ("title", "implements", "source", "quote", "effective", "from", "until", "when", "require", "else",
           "exception", "to", "priority", "supersedes", "hit", "columns", "row", "key", "ramp", "about", "set",
           "of", "for", "in", "and", "or", "not", "expect", "applies", "consequence", "amount", "permanent",
           "between", "agree", "prevails", "known", "conflict", "because")
BUILTINS = ("covered", "days_between", "next_half_month", "month_end", "fires")
OUTCOMES = ("allow", "deny", "warn")
CONSTANTS = ("true", "false", "today", "outcome", "inf", "not_open", "not_stated", "unique", "first", "collect",
             "sum", "min", "max", "any", "all")
TYPES = ("count", "number", "money", "percent", "bool", "text", "date")


class PolicyLexer(RegexLexer):
    name = "policydsl"
    aliases = ["policydsl", "policy"]
    filenames = ["*.policy"]
    mimetypes = ["text/x-policydsl"]

    tokens = {
        "root": [
            (r"[ \t\r\n]+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"', String.Double),
            (r"R\d{3}\.\d+\b", Name.Label),
            (r"\d{4}-\d{2}-\d{2}", Literal.Date),
            (r"¥\d+(?:\.\d+)?", Number),
            (r"\d+(?:\.\d+)?%", Number),
            (r"(\d+)([ \t]+)(working[ \t]+days?|days?|months?)\b", bygroups(Number.Integer, Whitespace, Keyword.Type)),
            (r"\d+\.\d+", Number.Float),
            (r"\d+", Number.Integer),
            # the name a fact or an entity declares may be any word, even a clause word (`fact source`)
            (r"\b(fact|entity)([ \t]+)([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)",
             bygroups(Keyword.Declaration, Whitespace, Name)),
            # a unit is declared at the start of a line; after an input or define, `unit NAME` names its unit
            (r"^unit\b", Keyword.Declaration),
            (r"\bunit\b", Keyword),
            (words(DECLARATIONS, suffix=r"\b"), Keyword.Declaration),
            (words(OUTCOMES, suffix=r"\b"), Keyword.Reserved),
            (words(CLAUSES, suffix=r"\b"), Keyword),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(BUILTINS, suffix=r"\b"), Name.Builtin),
            (r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*", Name),
            (r">=|<=|==|!=|->|[<>=+\-*/]", Operator),
            (r"[()\[\]{},:]", Punctuation),
            (r"[^\x00-\x7f]+", Text),  # a Chinese word where a name belongs: the checker explains it
        ],
    }
