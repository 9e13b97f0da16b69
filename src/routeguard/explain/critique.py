"""Structured critiques: why a verdict came out the way it did.

A :class:`Critique` carries

- the categories, each with its score, threshold and margin;
- the **decisive evidence**: the sentence (or, for a one-sentence text, the word span) that drove
  the score, found by attribution over the fast experts — the judged text is re-scored with each
  span removed (occlusion) and with each span alone, all variants in one ``check_batch`` call; the
  span whose removal lowers the flagged score most is decisive (when no single removal matters,
  because the evidence is repeated, the span that alone scores highest);
- the **nearest labelled training examples** with their source dataset (provenance), from the
  exemplar index (:mod:`routeguard.explain.exemplars`), with their text when a GuardZoo build folder
  is available;
- for LLM experts, the **model's own rationale** (the judgement the verdict used, from the judge's
  cache; a judge is asked anew only with ``ask_judges=True``).

Explanations cost a few extra guard passes, so they are computed only when asked (:func:`explain`)
or, with :func:`check_and_explain`, only for flagged verdicts.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import BaseModel, Field

from ..errors import ConfigError
from ..policy import Policy
from ..types import BatchItemError, Conversation, GuardInput, Target, Verdict, to_conversation

__all__ = ["CategoryReason", "Critique", "Evidence", "Exemplar", "Rationale", "SpanScore", "check_and_explain",
           "explain", "split_units"]

MAX_VARIANTS = 64


class CategoryReason(BaseModel):
    category: str
    score: float
    threshold: float
    flagged: bool
    margin: float                       # score - threshold (negative: below its threshold)


class SpanScore(BaseModel):
    """One span of the judged text and how the flagged score moves without it / with it alone."""

    text: str
    message_index: int
    start: int
    end: int
    score_without: float
    score_alone: float | None = None
    drop: float                         # score of the full text - score without this span


class Evidence(SpanScore):
    """The decisive span."""

    method: Literal["occlusion", "alone", "whole"]
    measure: str                        # what was attributed: "P(unsafe)" or "category <id>"
    score_full: float
    decisive: bool                      # False for a safe verdict: the most suspicious span, still below threshold


class Exemplar(BaseModel):
    id: str
    source: str
    label: str
    categories: list[str] = Field(default_factory=list)
    target: str = "prompt"
    similarity: float
    text: str | None = None             # only when a GuardZoo build folder is available


class Rationale(BaseModel):
    expert: str
    judge: str
    format: str
    model: str
    unsafe: bool
    score: float
    categories: list[str] = Field(default_factory=list)
    rationale: str | None = None
    evidence: str | None = None


class Critique(BaseModel):
    """Why the guard decided what it decided. JSON-able (``model_dump_json``)."""

    flagged: bool
    unsafe_score: float
    unsafe_threshold: float
    target: str
    summary: str
    reasons: list[str] = Field(default_factory=list)
    categories: list[CategoryReason] = Field(default_factory=list)
    evidence: Evidence | None = None
    spans: list[SpanScore] = Field(default_factory=list)
    exemplars: list[Exemplar] = Field(default_factory=list)
    exemplar_query: str | None = None
    rationales: list[Rationale] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    verdict: Verdict
    latency_ms: float = 0.0


# --- spans -----------------------------------------------------------------------------------------

_SENT = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)")
_WORD = re.compile(r"\S+")


def split_units(text: str, phrases: bool = True) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of ``text``; a single sentence of 4+ words is split into
    overlapping word windows instead, so that the decisive phrase can still be found."""
    sents = []
    for m in _SENT.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s and re.search(r"\w", text[s:e]):
            sents.append((s, e))
    if len(sents) != 1 or not phrases:
        return sents[:MAX_VARIANTS // 2] if len(sents) <= MAX_VARIANTS // 2 else _merge(sents, MAX_VARIANTS // 2)
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    n = len(words)
    if n < 4:
        return sents
    w = 3 if n <= 30 else max(3, n // 10)
    stride = 1 if n <= 30 else max(1, w // 2)
    out = [(words[i][0], words[min(n, i + w) - 1][1]) for i in range(0, max(1, n - w + 1), stride)]
    return out[:MAX_VARIANTS // 2]


def _merge(spans: list[tuple[int, int]], k: int) -> list[tuple[int, int]]:
    """Group consecutive sentences so that at most ``k`` units remain."""
    size = -(-len(spans) // k)
    return [(spans[i][0], spans[min(len(spans), i + size) - 1][1]) for i in range(0, len(spans), size)]


def _focus_indices(conv: Conversation) -> list[int]:
    t = conv.resolved_target
    if t in ("prompt", "response"):
        role = "user" if t == "prompt" else "assistant"
        return [max(i for i, m in enumerate(conv.messages) if m.role == role)]
    return [i for i, m in enumerate(conv.messages) if m.content.strip()]


def _with_content(conv: Conversation, idx: int, content: str, only: bool = False) -> Conversation:
    msgs = list(conv.messages)
    msgs[idx] = msgs[idx].model_copy(update={"content": content})
    if only:
        msgs = msgs[:idx + 1]
    return Conversation.model_construct(messages=msgs, target=conv.resolved_target)


def _remove(text: str, s: int, e: int) -> str:
    return re.sub(r"[ \t]{2,}", " ", (text[:s] + text[e:])).strip()


# --- the measure being attributed ------------------------------------------------------------------

def _measure(v: Verdict) -> tuple[str, Any]:
    flagged = sorted(v.flagged_categories, key=lambda c: -v.category_scores.get(c, 0.0))
    if flagged:
        c = flagged[0]
        return f"category {c}", lambda x: float(x.category_scores.get(c, 0.0))
    return "P(unsafe)", lambda x: float(x.unsafe_score)


def attribute(fast: Any, conv: Conversation, verdict: Verdict, policy: Policy) -> tuple[Evidence | None, list[SpanScore], str]:
    """Occlusion + span-alone attribution over the fast guard; all variants in one check_batch call."""
    measure, f = _measure(verdict)
    units: list[tuple[int, int, int]] = []
    phrases = False
    for mi in _focus_indices(conv):
        content = conv.messages[mi].content
        got = split_units(content)
        phrases = phrases or (len(got) > 1 and len(split_units(content, phrases=False)) == 1)
        units.extend((mi, s, e) for s, e in got)
    units = units[:MAX_VARIANTS // 2]
    if not units:
        return None, [], measure
    # a span alone is a fair probe for sentences; for 3-word fragments the experts' scores are noise
    alone_ok = conv.resolved_target in ("prompt", "response") and not phrases
    variants: list[Any] = []
    for mi, s, e in units:
        variants.append(_with_content(conv, mi, _remove(conv.messages[mi].content, s, e)))
    if alone_ok:
        for mi, s, e in units:
            variants.append(_with_content(conv, mi, conv.messages[mi].content[s:e]))
    variants.insert(0, conv)            # the full text through the fast experts, in the same call
    res = fast.check_batch([{"messages": [m.model_dump() for m in c.messages], "target": c.resolved_target}
                            for c in variants], policy=policy)
    base_v, out = res[0], res[1:]
    full = f(base_v) if isinstance(base_v, Verdict) else f(verdict)

    def score(r: Any) -> float:
        return f(r) if isinstance(r, Verdict) else 0.0       # nothing left to judge: no risk left

    spans = []
    for k, (mi, s, e) in enumerate(units):
        without = score(out[k])
        alone = score(out[len(units) + k]) if alone_ok else None
        spans.append(SpanScore(text=conv.messages[mi].content[s:e], message_index=mi, start=s, end=e,
                               score_without=without, score_alone=alone, drop=full - without))
    if len(spans) == 1:
        sp = spans[0]
        ev = Evidence(**sp.model_dump(), method="whole", measure=measure, score_full=full, decisive=verdict.flagged)
        return ev, spans, measure
    best = max(spans, key=lambda sp: (round(sp.drop, 3), sp.score_alone or 0.0))
    method: Literal["occlusion", "alone", "whole"] = "occlusion"
    if verdict.flagged and best.drop < 0.05 and alone_ok and not phrases:
        best = max(spans, key=lambda sp: sp.score_alone or 0.0)      # repeated evidence: no single removal matters
        method = "alone"
    ev = Evidence(**best.model_dump(), method=method, measure=measure, score_full=full, decisive=verdict.flagged)
    if phrases and method == "occlusion" and best.drop > 0:
        # overlapping word windows that matter as much: their common words are the decisive phrase
        ties = [sp for sp in spans if sp.message_index == best.message_index and sp.drop >= best.drop - max(0.02, 0.1 * best.drop)
                and sp.start < best.end and best.start < sp.end]
        s, e = max(sp.start for sp in ties), min(sp.end for sp in ties)
        text = conv.messages[best.message_index].content
        if e > s and text[s:e].strip():
            ev = ev.model_copy(update={"start": s, "end": e, "text": text[s:e]})
    return ev, spans, measure


# --- explain ---------------------------------------------------------------------------------------

def _index(index: Any) -> Any:
    from .exemplars import ExemplarIndex

    if index is None or index is False:
        return None
    if isinstance(index, ExemplarIndex):
        return index
    return ExemplarIndex.load(None if index in (True, "default") else Path(index))


def explain(guard: Any, x: GuardInput, *, target: Target | None = None, policy: Policy | None = None,
            verdict: Verdict | None = None, index: Any = "default", guardzoo: str | Path | None = None,
            k: int = 5, ask_judges: bool = False, attribution: bool = True) -> Critique:
    """The critique of ``guard``'s verdict on ``x``.

    ``guard``: a RouteGuard (judges attached or not) or a CascadeGuard. ``verdict``: reuse one already
    computed. ``index``: ``"default"`` (packaged), a path, an ExemplarIndex, or None (no provenance).
    ``guardzoo``: a GuardZoo build folder for exemplar texts (default ``$ROUTEGUARD_GUARDZOO`` or
    ``./guardzoo``; texts are omitted when it is absent). ``ask_judges``: ask attached LLM judges for
    their rationale even when the verdict did not consult them.
    """
    from ..judges.expert import fast_only, judges_of

    t0 = time.perf_counter()
    conv = to_conversation(x, target)
    conv.focus_and_context()
    pol = policy or guard.policy
    v = verdict if verdict is not None else guard.check(conv, policy=pol)
    pol = pol.for_target(v.target)          # the thresholds that decided this verdict
    fast = fast_only(guard)
    notes: list[str] = []

    cats = [CategoryReason(category=c, score=s, threshold=pol.threshold(c), flagged=bool(v.categories.get(c)),
                           margin=s - pol.threshold(c))
            for c, s in sorted(v.category_scores.items(), key=lambda kv: -kv[1])]

    evidence, spans, measure = (None, [], "")
    if attribution:
        try:
            evidence, spans, measure = attribute(fast, conv, v, pol)
        except Exception as e:  # noqa: BLE001 - an explanation never hides the verdict
            notes.append(f"attribution failed: {type(e).__name__}: {e}")

    exemplars: list[Exemplar] = []
    query = None
    try:
        idx = _index(index)
    except ConfigError as e:
        idx = None
        notes.append(str(e))
    if idx is not None:
        try:
            idx.check_encoder(fast.encoder)
            focus = conv.focus_and_context()[0]
            chunks = fast.encoder.chunk(focus) if focus.strip() else [focus]
            query = chunks[0]
            if len(chunks) > 1 and evidence is not None:
                query = next((c for c in chunks if evidence.text[:60] in c), evidence.text)
            vec = fast.encoder.encode([query])[0]
            nn = idx.nearest(vec, k)
            from .exemplars import lookup_texts

            texts = lookup_texts(guardzoo, [n.id for n in nn], split=str(idx.meta.get("split", "train")))
            exemplars = [Exemplar(id=n.id, source=n.source, label=n.label, categories=n.categories, target=n.target,
                                  similarity=round(n.similarity, 4), text=texts.get(n.id)) for n in nn]
            if nn and not texts:
                notes.append("exemplar texts not shown: no GuardZoo build folder at "
                             f"{guardzoo or 'the default ./guardzoo'} (ids and sources are)")
        except ConfigError as e:
            notes.append(f"no provenance: {e}")

    rationales: list[Rationale] = []
    for name, j in judges_of(guard):
        got = j.cached(conv)
        if got is None and ask_judges:
            try:
                got = j.judge(conv)
            except Exception as e:  # noqa: BLE001
                notes.append(f"judge {j.name} could not give a rationale: {type(e).__name__}: {e}")
        if got is None:
            if not ask_judges:
                notes.append(f"judge {j.name} was not consulted for this verdict (ask_judges=True to ask it)")
            continue
        rationales.append(Rationale(expert=name, judge=j.name, format=got.format, model=got.model, unsafe=got.unsafe,
                                    score=got.score, categories=got.categories, rationale=got.rationale,
                                    evidence=got.evidence))
    failed = [e for e in v.experts if e.error]
    for e in failed:
        notes.append(f"expert {e.expert} failed: {e.error}")

    summary, reasons = _summarise(v, pol, cats, evidence, exemplars, rationales)
    return Critique(flagged=v.flagged, unsafe_score=v.unsafe_score, unsafe_threshold=pol.unsafe_threshold,
                    target=v.target, summary=summary, reasons=reasons, categories=cats, evidence=evidence,
                    spans=spans, exemplars=exemplars, exemplar_query=query, rationales=rationales, notes=notes,
                    verdict=v, latency_ms=(time.perf_counter() - t0) * 1000)


def _summarise(v: Verdict, pol: Policy, cats: list[CategoryReason], ev: Evidence | None, ex: list[Exemplar],
               rats: list[Rationale]) -> tuple[str, list[str]]:
    reasons = []
    n_unsafe = sum(e.label == "unsafe" for e in ex)
    srcs = sorted({e.source for e in ex})
    if v.flagged:
        hit = [c for c in cats if c.flagged]
        if hit:
            summary = "Flagged: " + ", ".join(f"{c.category} {c.score:.2f} (threshold {c.threshold:.2f})" for c in hit)
        else:
            summary = f"Flagged: P(unsafe)={v.unsafe_score:.2f} reaches {pol.unsafe_threshold:.2f}"
        if v.degraded:
            reasons.append("an expert failed and the policy fails closed (on_error=block)")
        if ev is not None:
            how = {"occlusion": f"removing it lowers {ev.measure} from {ev.score_full:.2f} to {ev.score_without:.2f}",
                   "alone": f"alone it scores {ev.score_alone or 0.0:.2f} on {ev.measure}",
                   "whole": f"the whole text scores {ev.score_full:.2f} on {ev.measure}"}[ev.method]
            reasons.append(f"decisive span: “{ev.text}” ({how})")
        if ex:
            reasons.append(f"{n_unsafe} of {len(ex)} nearest training examples are unsafe "
                           f"(sources: {', '.join(srcs)})")
    else:
        top = cats[0] if cats else None
        summary = f"Safe: P(unsafe)={v.unsafe_score:.2f}, below {pol.unsafe_threshold:.2f}"
        if v.degraded:
            reasons.append("an expert failed, allowed because on_error=allow")
        if top is not None:
            reasons.append(f"highest category {top.category} scores {top.score:.2f}, {-top.margin:.2f} below its "
                           f"threshold {top.threshold:.2f}; every category is below its threshold")
        if ev is not None and ev.drop < 0.02:
            reasons.append("no span of the text moves the score by more than 0.02 when removed")
        elif ev is not None:
            reasons.append(f"most suspicious span “{ev.text}”: without it {ev.measure} goes from {ev.score_full:.2f} "
                           f"to {ev.score_without:.2f}; still below the threshold with it")
        if ex:
            reasons.append(f"{len(ex) - n_unsafe} of {len(ex)} nearest training examples are safe "
                           f"(sources: {', '.join(srcs)})")
    for r in rats:
        reasons.append(f"{r.judge} says {'unsafe' if r.unsafe else 'safe'} ({r.score:.2f})"
                       + (f": {r.rationale[:200]}" if r.rationale else ""))
    return summary, reasons


def check_and_explain(guard: Any, xs: Sequence[GuardInput], *, when: Literal["flagged", "always"] = "flagged",
                      target: Target | None = None, policy: Policy | None = None,
                      **kw: Any) -> list[tuple[Verdict | BatchItemError, Critique | None]]:
    """Check a batch; attach a critique to every flagged verdict (``when="flagged"``) or to all."""
    pol = policy or guard.policy
    res = guard.check_batch(xs, target=target, policy=pol)
    out: list[tuple[Verdict | BatchItemError, Critique | None]] = []
    for x, v in zip(xs, res):
        if isinstance(v, Verdict) and (when == "always" or v.flagged):
            out.append((v, explain(guard, x, target=target, policy=pol, verdict=v, **kw)))
        else:
            out.append((v, None))
    return out

