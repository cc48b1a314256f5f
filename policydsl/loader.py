"""Paths in, a PolicySet out: read files, parse, check, compile — the pipeline as a list of named stages."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import attrs

from policydsl import diagnostics as dg, i18n
from policydsl.errors import PolicyDslError, clip
from policydsl.gcpause import paused
from policydsl.runtime.calendar import today_in_shanghai
from policydsl.runtime.book import BookDecision, BookIndex, Conflict, evaluate_book
from policydsl.runtime.decision import Decision
from policydsl.runtime.evaluate import evaluate
from policydsl.runtime.program import CompiledPolicy
from policydsl.semantics.names import suggest
from policydsl.source import SourceFile, read_policy, unreadable_reason
from policydsl.vocabulary import Vocabulary

if TYPE_CHECKING:  # the parser, checker and compiler are imported where they run: a book loaded from the
    # cache (`load(..., cached=True)`) needs none of them
    from policydsl.semantics.model import Model, Policy
    from policydsl.syntax import ast


def policy_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every .policy file named, or found under a named folder, in a stable order."""
    found = (f for path in map(Path, paths) for f in (sorted(path.rglob("*.policy")) if path.is_dir() else [path]))
    return list(dict.fromkeys(found))


def with_shared(files: list[Path]) -> list[Path]:
    """A single file needs the shared declarations (enums, units) of the files beside it. Each folder is
    listed once and each file looked up in a set, so the cost grows with the number of files."""
    out = list(files)
    seen = set(files)
    for folder in dict.fromkeys(f.parent for f in files):
        for sibling in sorted(folder.glob("*.policy")) if folder.is_dir() else ():
            if sibling not in seen and _is_shared(sibling):
                seen.add(sibling)
                out.append(sibling)
    return out


def _is_shared(path: Path) -> bool:
    """A file of declarations a policy may need (enums, units, the vocabulary's entities) and no policy.
    A file of book properties only (they name other policies) is not one: checking one policy leaves it out."""
    try:
        text = read_policy(path)
    except (OSError, UnicodeDecodeError):
        return False
    heads = {line.split(None, 1)[0] for line in text.splitlines() if line[:1].isalpha()}
    return "policy" not in heads and bool(heads & {"enum", "unit", "entity"})


@attrs.define
class Analysis:
    """The result of the front end over a set of files."""

    sources: list[SourceFile]
    modules: list[ast.Module]
    model: Model
    diagnostics: list[dg.Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def read_sources(files: Iterable[Path]) -> tuple[list[SourceFile], list[dg.Diagnostic]]:
    sources, diags = [], []
    for f in files:
        try:
            sources.append(SourceFile.read(f))
        except (OSError, UnicodeDecodeError) as exc:
            empty = SourceFile(path=str(f), text="")
            diags.append(dg.make("P0104", empty.span(0, 0), reason=unreadable_reason(exc)))
    return sources, diags


def analyse(files: Iterable[Path], *, sources_dir: Path | None = None) -> Analysis:
    """Stages: read → parse → check (names, types, analyses) → verify quotes (when a folder is given).
    The solver's analyses (`check --deep`) come after, from policydsl.verify.analyses.deepen."""
    sources, diags = read_sources(files)
    return analyse_sources(sources, sources_dir=sources_dir, diagnostics=diags)


def analyse_sources(sources: list[SourceFile], *, sources_dir: Path | None = None,
                    diagnostics: Iterable[dg.Diagnostic] = ()) -> Analysis:
    """The front end over texts already in memory (an editor buffer, a test snippet)."""
    from policydsl.semantics.check import check_modules
    from policydsl.semantics.sources import check_document_names, verify_quotes
    from policydsl.syntax.parser import parse

    diags = list(diagnostics)
    modules = []
    with paused():  # the trees and the model stay alive: see gcpause
        for source in sources:
            module, parse_diags = parse(source)
            diags.extend(parse_diags)
            if module is not None:
                modules.append(module)
        result = check_modules(modules)
    diags.extend(result.diagnostics)
    diags.extend(check_document_names(result.model))
    if sources_dir is not None:
        diags.extend(verify_quotes(result.model, sources_dir))
    bag = dg.DiagnosticBag(diags)
    return Analysis(sources=sources, modules=modules, model=result.model, diagnostics=bag.sorted())


@attrs.define
class PolicySet:
    """A checked, compiled rule book: the public entry point for evaluation. A book from the cache
    (`load(..., cached=True)`) keeps no checked model: its `model` holds only the compiled policies."""

    model: Model
    compiled: Mapping[str, CompiledPolicy]
    diagnostics: list[dg.Diagnostic]
    # derived from the model unless given (a book from the cache comes with them: compile/book_cache.py)
    vocabulary: Vocabulary = attrs.field(default=None)
    book: CompiledPolicy | None = None  # the book properties, compiled (None: there are none)
    index: BookIndex = attrs.field(default=None)  # what deciding reads of the checked book
    _check: Any = attrs.field(init=False, repr=False)  # the vocabulary's check, bound once

    def __attrs_post_init__(self) -> None:
        if self.index is None:
            from policydsl.compile.compiler import book_index, compile_book, input_spec

            self.book = compile_book(self.model)
            self.index = book_index(self.model)
            # the book's vocabulary, with the facts no policy reads yet, then each policy's own inputs
            self.vocabulary = Vocabulary([*(input_spec(self.model, fact) for fact in self.model.facts.values()),
                                          *(spec for p in self.compiled.values() for spec in p.inputs.values())])
        self._check = self.vocabulary.check

    @property
    def policies(self) -> dict[str, Policy]:
        return self.model.policies

    def find(self, name: str) -> Policy:
        """A policy by id or by its Chinese or English title (of a book from the cache: its compiled policy)."""
        return self.model.policies[self._policy_id(name)]

    def _policy_id(self, name: str) -> str:
        titles = self.index.titles
        if name in titles:
            return name
        for pid, title in titles.items():
            if name in (title["zh"], title["en"]):
                return pid
        hint = suggest(name, [(pid, (title["zh"], title["en"])) for pid, title in titles.items()])
        raise PolicyDslError("E.unknown_policy", name=clip(name),  # (a URL's path: 64 KiB, echoed twice)
                             hint=i18n.both("E.unknown_policy.suggest", hint=hint) if hint else "")

    def evaluate(self, policy_id: str, facts: Mapping[str, Any], at: dt.date | None = None, *,
                 trace: bool = False, coverage: bool = False, ignore_unknown: bool = False) -> Decision:
        """Decide one policy for a record: facts by id (nested or dotted) or by label; a name the book
        does not know is an error unless `ignore_unknown` (a record carrying other fields). The fast path
        by default; `trace=True` records every rule's status and what it read (`eval --explain`)."""
        compiled = self.compiled.get(policy_id) or self.compiled[self._policy_id(policy_id)]
        if not (coverage or ignore_unknown):  # the generated code checks the record (and the period)
            return (compiled.traced if trace else compiled.fast)(facts, at or today_in_shanghai(), None, self._check)
        record = self.vocabulary.check(facts, ignore_unknown=ignore_unknown)
        return evaluate(compiled, record, at or today_in_shanghai(), trace=trace, coverage=coverage)

    def evaluate_all(self, facts: Mapping[str, Any], at: dt.date | None = None, *, trace: bool = False,
                     coverage: bool = False, ignore_unknown: bool = False) -> BookDecision:
        """Decide every policy in force on `at` that applies to one record (its `applies when`); a policy
        that cannot be decided for the record is an error in its own part, and the others still are.
        The record is checked against the book's vocabulary once, as `evaluate` checks it."""
        record = self.vocabulary.check(facts, ignore_unknown=ignore_unknown)
        trace = trace or self.index.reads_rules
        book = evaluate_book(self.compiled, record, at or today_in_shanghai(), trace=trace, coverage=coverage)
        if not self.index.overlaps or self.book is None:
            return book
        return attrs.evolve(book, conflicts=tuple(self.conflicts(record, book)))

    def score(self, table: Any, policies: Iterable[str] | None = None, *, at: dt.date | None = None,
              at_column: str | None = None, keys: tuple[str, ...] = (), langs: tuple[str, ...] = ()) -> Any:
        """Decide every record of a table at once on DuckDB (`pip install 'policydsl[score]'`): an Arrow table,
        or a pandas or Polars frame, with columns named by fact ids; the given policies (ids or titles), or
        every policy of the book with each one's `status` as `evaluate_all` gives it. Returns an Arrow table
        with one row per record and policy, as `policydsl score` writes it (README, "Scoring many records")."""
        from policydsl.score.files import score_table

        ids = [self._policy_id(p) for p in policies] if policies is not None else sorted(self.index.titles)
        return score_table(self, ids, table, at, keys, at_column=at_column, whole_book=policies is None, langs=langs)

    def conflicts(self, record: Mapping[str, Any], book: BookDecision, *, implicit: bool = False,
                  only: int | None = None):
        """The overlaps whose two policies both decided this checked record and disagree on it (with
        `implicit`, also the pairs of values that share a label, which `check --deep` compares; with `only`, the
        overlap at that position of `index.overlaps`, whose two policies alone `book` need hold)."""
        from policydsl.runtime.properties import check_book_property

        if self.book is None:  # no book properties and no overlaps: nothing can conflict
            return
        compiled = self.book.properties[self.index.properties:]  # the overlaps' claims follow
        asked = range(len(compiled)) if only is None else (only,)
        for (declared_implicit, fields), prop in ((self.index.overlaps[i], compiled[i]) for i in asked):
            if declared_implicit and not implicit:  # a question for `check --deep`, not a declared conflict
                continue
            check = check_book_property(self.book, prop, fields["policies"], record, book)
            if check.holds or check.decision_error is not None or check.claim_error is not None:
                continue
            outcomes = tuple(book.part(pid).decision.outcome for pid in fields["policies"])  # type: ignore[union-attr]
            yield Conflict(outcomes=outcomes, **fields)  # type: ignore[arg-type]


def load(path: str | Path | Iterable[str | Path], *, sources_dir: Path | None = None,
         cached: bool = False) -> PolicySet:
    """Load a folder (or files) of .policy text; raise PolicyLoadError carrying diagnostics on any error.

    With `cached`, a book whose files, paths and policydsl source are unchanged since it last loaded clean
    comes back from the per-user cache (compile/book_cache.py) without being parsed, checked or compiled:
    a book to decide with, whose `model` holds only what deciding reads. Otherwise it is loaded as usual
    and, when it has no error, stored for the next time."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    files = with_shared(policy_files(paths))
    if not files:
        raise PolicyDslError("E.no_policies", path=", ".join(str(p) for p in paths))
    sources, diags = read_sources(files)
    key = None
    if cached and sources_dir is None and not diags:
        from policydsl.compile import book_cache

        key = book_cache.key(sources)
        fields = book_cache.restore(key)
        if fields is not None:
            return PolicySet(**fields)
    analysis = analyse_sources(sources, sources_dir=sources_dir, diagnostics=diags)
    if not analysis.ok:
        raise PolicyLoadError(analysis.diagnostics)
    from policydsl.compile.compiler import build, compile_parts

    with paused():  # compiling builds the rest of the long-lived book: see gcpause
        parts = compile_parts(analysis.model)
        compiled = {pid: build(spec, *stored) for pid, (spec, stored) in parts.items()}
        policy_set = PolicySet(model=analysis.model, compiled=compiled, diagnostics=analysis.diagnostics)
    if key is not None:
        book_cache.save(key, policy_set, parts)
    return policy_set


class PolicyLoadError(PolicyDslError):
    """The rule book has errors; `diagnostics` says which."""

    def __init__(self, diagnostics: list[dg.Diagnostic]) -> None:
        super().__init__("E.has_errors")
        self.diagnostics = diagnostics

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["error"]["diagnostics"] = [d.to_dict() for d in self.diagnostics if d.is_problem]
        return out
