"""Conflicts between documents, found by the solver and confirmed by the evaluator (`check --deep`).

Two policies encoded from different documents may answer one question: the book says so with an
`overlap` (in a shared file), and two values of two policies that share a label are read as one
concept too. For each, the solver looks for a record and a day where both policies are in force,
apply and decide, and they disagree (different outcomes, or the overlap's `agree` fails). A
candidate counts only once the real whole-book decision (`PolicySet.evaluate_all`) shows the same
disagreement; the diagnostic carries that record.

What is reported depends on how the book resolves the overlap:

- no resolution: P0620 (warning), or P0624 (warning) for two values that share a label;
- `prevails POLICY` with its `assume`: P0621 (a note); but P0625 (warning) instead where the
  prevailing policy allows while the other denies, so the whole-book decision (deny overrides)
  does not carry the resolution out;
- `known conflict` with its `assume`: P0622 (a note);
- a resolution where the solver proved the two agree: P0623 (warning: nothing left to resolve);
- no resolution, and the solver proved the two agree: P0626 (a note, shown with `--info`).

Each search stops after CONFLICT_LIMITS and then counts as undecided (nothing is reported).
"""
from __future__ import annotations

import json
from typing import Any, Iterator

import attrs
import z3

from policydsl import diagnostics as dg
from policydsl import i18n
from policydsl.errors import InternalError, PolicyDslError
from policydsl.compile.compiler import book_index, compile_book, reads_decision
from policydsl.runtime.book import evaluate_book
from policydsl.runtime.values import display
from policydsl.semantics.model import BookOverlap, Model
from policydsl.syntax import ast
from policydsl.verify.encode import BookEncoder, Encoding
from policydsl.verify.engine import Budget, Limits, Witness, search

CONFLICT_LIMITS = Limits(steps=20_000_000, seconds=60.0)
NOTES = ("P0621", "P0622")  # conflicts the book documents: listed by `check --deep` as notes


def conflict_analyses(model: Model, compiled: dict) -> list[dg.Diagnostic]:
    if not model.overlaps:
        return []
    from policydsl.loader import PolicySet  # the whole-book decision confirms every candidate

    book = PolicySet(model=model, compiled=compiled, diagnostics=[])  # (deciding compiles only declared overlaps)
    book = attrs.evolve(book, book=compile_book(model, implicit=True), index=book_index(model, implicit=True))
    return [d for position, overlap in enumerate(model.overlaps) for d in _overlap(model, book, overlap, position)]


def _overlap(model: Model, book, overlap: BookOverlap, position: int) -> Iterator[dg.Diagnostic]:
    enc = Encoding(model)
    encoder = BookEncoder(enc, model, overlap.policies, overlap.decl)
    terms = encoder.conflict_terms(overlap.decl)
    encoders = (*encoder.parts.values(), encoder)
    first, second = overlap.policies
    pair = {pid: book.compiled[pid] for pid in overlap.policies}

    def conflict(w: Witness) -> Any:
        """The whole-book decision's two parts of the overlap, and its conflict: the other policies and overlaps
        answer nothing here (deciding them all for each candidate made N values sharing a label cost N⁴)."""
        try:
            record = book.vocabulary.check(w.facts)
            decision = evaluate_book(pair, record, w.at, trace=True)
            found = book.conflicts(record, decision, implicit=True, only=position)
        except PolicyDslError:
            return None
        return next(iter(found), None), decision

    def confirm(w: Witness) -> bool:
        found = conflict(w)
        return found is not None and found[0] is not None

    outcome = search(enc, terms["conflict"], confirm, encoders=encoders, budget=Budget.start(CONFLICT_LIMITS))
    span = overlap.overlap.name.span
    if outcome.status == "unsat":
        if overlap.resolution != "none":
            yield dg.make("P0623", span, severity="warning", name=overlap.name, first=first, second=second)
        elif not overlap.implicit:  # a proof: listed with the other notes (`check --deep --info`)
            yield dg.make("P0626", span, severity="info", name=overlap.name, first=first, second=second)
        return
    if outcome.status != "found" or outcome.witness is None:
        return  # undecided within the time limit: nothing is claimed
    w = outcome.witness
    confirmed = conflict(w)
    if confirmed is None:  # (the search confirmed it; a second run of the same record cannot differ)
        raise InternalError(f"overlap {overlap.name}: a confirmed conflict did not repeat")
    found, decision = confirmed
    args = {"name": overlap.name, "first": first, "second": second, "at": w.at.isoformat(),
            "facts": json.dumps(w.facts, ensure_ascii=False, separators=(",", ":"))}
    if overlap.implicit:
        claim = overlap.decl.claim
        refs = [_value_ref(model, e) for e in (claim.left, claim.right)] if isinstance(claim, ast.Binary) else []
        if len(refs) != 2 or refs[0] is None or refs[1] is None:  # the checker builds `A == B` of two values
            raise InternalError(f"implicit overlap {overlap.name} compares no two values")
        left, right = refs[0], refs[1]
        shown = {lang: [_show(model, decision, pid, path, lang) for pid, path in (left, right)] for lang in i18n.LANGS}
        yield _diagnostic("P0624", span, "warning", dict(args, left=left[1], right=right[1]), {
            lang: {"label": overlap.overlap.label.get(lang), "left_value": shown[lang][0],
                   "right_value": shown[lang][1]} for lang in i18n.LANGS})
        return
    disagreement = {lang: {"disagreement": _disagreement(model, overlap, found, decision, lang)} for lang in i18n.LANGS}
    if overlap.resolution == "none":
        yield _diagnostic("P0620", span, "warning", args, disagreement)
        return
    assume = ", ".join(a.name.value for _, a in overlap.explained_by)
    if overlap.resolution == "known":
        yield _diagnostic("P0622", span, "info", dict(args, assume=assume), disagreement)
        return
    # the book follows the prevailing document only if its decision does: deny overrides allow, so a
    # prevailing allow against a deny is a resolution the whole-book decision does not carry out
    other = second if overlap.prevails == first else first
    if reads_decision(overlap.decl.claim):  # (an overlap of values says nothing of whose deny stands)
        lost = _against(enc, encoder, encoders, terms, overlap, other, conflict)
        if lost is not None:
            yield dg.make("P0625", overlap.overlap.prevails.span, severity="warning", name=overlap.name,  # type: ignore[union-attr]
                          prevails=overlap.prevails, other=other, at=lost.at.isoformat(),
                          facts=json.dumps(lost.facts, ensure_ascii=False, separators=(",", ":")))
            return
    yield _diagnostic("P0621", span, "info", dict(args, assume=assume, prevails=overlap.prevails), disagreement)


def _against(enc, encoder, encoders, terms, overlap: BookOverlap, other: str, conflict) -> Witness | None:
    """A record where the overlap's two policies disagree, the prevailing one allowing and the other
    denying: there the whole-book decision is deny, against the resolution."""
    against = z3.And(terms["conflict"], z3.Not(encoder.parts[overlap.prevails].deny), encoder.parts[other].deny)

    def contradicts(w: Witness) -> bool:
        found = conflict(w)
        return (found is not None and found[0] is not None
                and found[1].part(overlap.prevails).decision.outcome == "allow"
                and found[1].part(other).decision.outcome == "deny")
    lost = search(enc, against, contradicts, encoders=encoders, budget=Budget.start(CONFLICT_LIMITS))
    return lost.witness if lost.status == "found" else None


def _diagnostic(code: str, span, severity: str, args: dict, by_lang: dict[str, dict]) -> dg.Diagnostic:
    """A diagnostic some of whose arguments differ by language (values and outcomes as a reader sees them)."""
    message = {lang: i18n.t(code, lang, **args, **by_lang[lang]) for lang in i18n.LANGS}
    hint = None
    if f"{code}.hint" in i18n.MESSAGES:
        hint = {lang: i18n.t(f"{code}.hint", lang, **args, **by_lang[lang]) for lang in i18n.LANGS}
    return dg.Diagnostic(code=code, severity=severity, span=span, message=message, hint=hint)  # type: ignore[arg-type]


def _disagreement(model: Model, overlap: BookOverlap, conflict, decision, lang: str) -> str:
    first, second = overlap.policies
    if overlap.overlap.agree is None:
        return i18n.t("conflict.outcomes", lang, first=first, second=second,
                      first_outcome=i18n.t(f"outcome.{conflict.outcomes[0]}", lang),
                      second_outcome=i18n.t(f"outcome.{conflict.outcomes[1]}", lang))
    refs = []
    for e in sorted((n for n in ast.walk(overlap.overlap.agree) if isinstance(n, ast.Ref)), key=lambda n: n.span.start):
        found = _value_ref(model, e)
        if found is not None and found not in refs:
            refs.append(found)
    values = i18n.t("conflict.sep", lang).join(
        f"{path} = {_show(model, decision, pid, path, lang)}" for pid, path in refs)
    return i18n.t("conflict.agree", lang, values=values)


def _value_ref(model: Model, e: ast.Expr) -> tuple[str, str] | None:
    """(policy, value path) of a book reference to a policy's value."""
    if not isinstance(e, ast.Ref) or model.resolve(e).kind != "book_define":
        return None
    pid, path = model.resolve(e).target.split(" ", 1)
    return pid, path


def _show(model: Model, decision, pid: str, path: str, lang: str) -> str:
    value = decision.part(pid).decision.values.get(path)
    kind = model.policies[pid].defines[path].type
    labels = {v.name.value: v.label.as_dict() for v in model.enums[kind.enum].values} if kind.enum else {}
    return display(kind.kind, value, lang, lambda name: labels.get(name, dict.fromkeys(i18n.LANGS, name)))  # no label: its id
