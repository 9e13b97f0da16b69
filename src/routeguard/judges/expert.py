"""LLM judges as RouteGuard experts.

Two ways in, both through the ordinary :class:`~routeguard.experts.base.Expert` interface, so the
guard's Policy handles a judge failure like any other expert failure (degraded verdict, fail-closed
by default):

- :class:`JudgeExpert` — the judge alone. ``outputs`` are the categories of ours the judge's format
  can report (Llama Guard's hazards, Qwen3Guard's categories, the critique's ids, the categories of
  the ShieldGemma / Granite policies asked). It never outputs ``"unsafe"``: the guard reads that
  output as *the* binary score of the always-on expert, and a judge must not silently replace it.
  A binary-only format (WildGuard, GuardReasoner, PolicyGuard with one policy, Granite ``harm``) has
  no output of its own and must be attached to domains (below) or used as a cascade stage.
- :class:`JudgedDomainExpert` — a routed domain's expert with a judge on top: the judge sees only the
  conversations the router sends to that domain ("route only the hard cyber cases to a big judge"),
  optionally only those whose fast score lies in an uncertainty ``band``. Its outputs are the domain
  expert's categories (plus any other category the judge can name). When the judge says unsafe but
  names no category (binary formats), its score goes to the domain expert's top category.

:func:`add_judge` returns a new RouteGuard with the judge attached; :func:`fast_only` strips judges.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Literal, Sequence

import numpy as np

from ..errors import ConfigError
from ..experts.base import Expert
from ..features import EncodedBatch
from ..taxonomy import CATEGORIES
from .errors import JudgeError
from .judge import Judge, Judgement

__all__ = ["JudgeExpert", "JudgedDomainExpert", "add_judge", "fast_only", "judges_of"]

Combine = Literal["judge", "max"]


class JudgeStats:
    """Counters shared by the judge-carrying experts: calls, failures, time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen = self.escalated = self.errors = 0
        self.judge_ms = 0.0

    def add(self, seen: int, escalated: int, errors: int, ms: float) -> None:
        with self._lock:
            self.seen += seen
            self.escalated += escalated
            self.errors += errors
            self.judge_ms += ms

    def as_dict(self) -> dict[str, Any]:
        return {"seen": self.seen, "escalated": self.escalated, "errors": self.errors,
                "judge_ms_total": round(self.judge_ms, 1),
                "escalation_rate": (self.escalated / self.seen) if self.seen else 0.0}


def _judge_rows(judge: Judge, batch: EncodedBatch, rows: Sequence[int]) -> list[Judgement]:
    res = judge.judge_many([batch.conversations[int(i)] for i in rows])
    errs = [r for r in res if isinstance(r, Exception)]
    if errs:
        raise JudgeError(f"judge {judge.name} failed on {len(errs)} of {len(res)} conversation(s): {errs[0]}")
    return res  # type: ignore[return-value]


class JudgeExpert(Expert):
    """An LLM judge as an expert over the categories its format can report (see module docs)."""

    def __init__(self, judge: Judge, name: str | None = None, categories: Sequence[str] | None = None):
        cats = tuple(categories) if categories is not None else tuple(c for c in judge.categories if c in CATEGORIES)
        bad = [c for c in cats if c not in CATEGORIES]
        if bad:
            raise ConfigError(f"JudgeExpert: unknown categories {bad}")
        if not cats:
            raise ConfigError(f"judge format {judge.format.name!r} reports no category of ours; attach it to routed "
                              "domains (add_judge(guard, judge, domains=[...])) or use CascadeGuard")
        self.judge, self.name, self.outputs = judge, name or f"judge:{judge.format.name}", cats
        self.stats = JudgeStats()

    def score(self, batch: EncodedBatch, which: np.ndarray) -> np.ndarray:
        out = np.zeros((len(which), len(self.outputs)), np.float32)
        if len(which) == 0:
            return out
        t0 = time.perf_counter()
        try:
            res = _judge_rows(self.judge, batch, which)
        except JudgeError:
            self.stats.add(len(which), len(which), len(which), (time.perf_counter() - t0) * 1000)
            raise
        self.stats.add(len(which), len(which), 0, (time.perf_counter() - t0) * 1000)
        for j, r in enumerate(res):
            for k, c in enumerate(self.outputs):
                out[j, k] = r.category_scores.get(c, 0.0)
        return out


class JudgedDomainExpert(Expert):
    """A domain expert with a judge on top (see module docs).

    ``combine="judge"``: for judged conversations the judge decides — category scores are capped at
    the judge's P(unsafe), and the categories it names get its score. ``combine="max"``: the judge can
    only add (element-wise max). ``band=(lo, hi)``: the judge is asked only when the domain expert's
    top score lies in [lo, hi]; other conversations keep the fast scores.
    """

    def __init__(self, base: Expert, judge: Judge, *, name: str | None = None, combine: Combine = "judge",
                 band: tuple[float, float] | None = None):
        if combine not in ("judge", "max"):
            raise ConfigError(f"combine must be 'judge' or 'max', not {combine!r}")
        if band is not None and not (0.0 <= band[0] <= band[1] <= 1.0):
            raise ConfigError(f"band must be (lo, hi) with 0 <= lo <= hi <= 1, got {band}")
        if "unsafe" in base.outputs:
            raise ConfigError(f"expert {base.name!r} is the binary always-on expert; attach judges to domain experts "
                              "or use CascadeGuard")
        self.base, self.judge, self.combine, self.band = base, judge, combine, band
        self.name = name or base.name
        extra = tuple(c for c in judge.categories if c in CATEGORIES and c not in base.outputs)
        self.outputs = tuple(base.outputs) + extra
        self.stats = JudgeStats()

    def score(self, batch: EncodedBatch, which: np.ndarray) -> np.ndarray:
        n_base = len(self.base.outputs)
        base = self.base.score(batch, which)
        out = np.zeros((len(which), len(self.outputs)), np.float32)
        out[:, :n_base] = base
        if len(which) == 0:
            return out
        top = base.max(axis=1) if n_base else np.zeros(len(which))
        if self.band is None:
            rows = np.arange(len(which))
        else:
            rows = np.nonzero((top >= self.band[0]) & (top <= self.band[1]))[0]
        if len(rows) == 0:
            self.stats.add(len(which), 0, 0, 0.0)
            return out
        t0 = time.perf_counter()
        try:
            res = _judge_rows(self.judge, batch, which[rows])
        except JudgeError:
            self.stats.add(len(which), len(rows), len(rows), (time.perf_counter() - t0) * 1000)
            raise
        self.stats.add(len(which), len(rows), 0, (time.perf_counter() - t0) * 1000)
        idx = {c: k for k, c in enumerate(self.outputs)}
        for r, j in zip(rows, res):
            row = out[r]
            listed = {c: s for c, s in j.category_scores.items() if c in idx}
            if self.combine == "judge":
                np.minimum(row, j.score, out=row)
            for c, s in listed.items():
                row[idx[c]] = s if self.combine == "judge" else max(row[idx[c]], s)
            if not listed and j.unsafe and n_base:
                k = int(np.argmax(base[r]))          # binary judge: its score goes to the top fast category
                row[k] = j.score if self.combine == "judge" else max(row[k], j.score)
        return out


def add_judge(guard: Any, judge: Judge, domains: Sequence[str] | None = None, *, combine: Combine = "judge",
              band: tuple[float, float] | None = None, name: str | None = None) -> Any:
    """A new RouteGuard with ``judge`` attached (the given guard is not changed).

    - ``domains``: attach the judge to these routed domains' experts (:class:`JudgedDomainExpert`);
      it then judges only what the router sends there, optionally only inside ``band``.
    - ``domains=None``: add the judge as an always-on :class:`JudgeExpert` named ``name``
      (default ``judge:<format>``); the format must report categories.
    """
    from ..guard import RouteGuard

    experts = dict(guard.experts)
    always_on = list(guard.always_on)
    meta = dict(guard.meta)
    info = {"judge": judge.name, "format": judge.format.name, "combine": combine,
            "band": list(band) if band else None}
    if domains:
        for d in domains:
            if d not in experts:
                raise ConfigError(f"add_judge: no expert for domain {d!r}; experts: {', '.join(experts)}")
            if d in always_on:
                raise ConfigError(f"add_judge: {d!r} is always on; attach judges to routed domains")
            experts[d] = JudgedDomainExpert(experts[d], judge, name=d, combine=combine, band=band)
        info["domains"] = list(domains)
    else:
        if band is not None:
            raise ConfigError("add_judge: band needs domains (or use CascadeGuard for a band on P(unsafe))")
        je = JudgeExpert(judge, name=name)
        if je.name in experts:
            raise ConfigError(f"add_judge: an expert named {je.name!r} already exists")
        experts[je.name] = je
        always_on.append(je.name)
        info["always_on"] = je.name
    meta["judges"] = list(meta.get("judges", [])) + [info]
    return RouteGuard(guard.encoder, experts, guard.router, guard.policy, always_on=always_on, meta=meta)


def fast_only(guard: Any) -> Any:
    """The guard without its judges (domain experts unwrapped, judge experts dropped); used for
    attribution, which re-scores many variants of a text and must not call an LLM for each."""
    from ..guard import RouteGuard

    if not isinstance(guard, RouteGuard):
        fast = getattr(guard, "fast", None)
        return fast_only(fast) if fast is not None else guard
    if not any(isinstance(e, (JudgeExpert, JudgedDomainExpert)) for e in guard.experts.values()):
        return guard
    experts = {}
    for k, e in guard.experts.items():
        if isinstance(e, JudgeExpert):
            continue
        experts[k] = e.base if isinstance(e, JudgedDomainExpert) else e
    return RouteGuard(guard.encoder, experts, guard.router, guard.policy,
                      always_on=[a for a in guard.always_on if a in experts], meta=guard.meta)


def judges_of(guard: Any) -> list[tuple[str, Judge]]:
    """(expert name, judge) for every judge in a RouteGuard or CascadeGuard."""
    out = []
    j = getattr(guard, "judge", None)
    if isinstance(j, Judge):
        out.append((f"judge:{j.name}", j))
        guard = getattr(guard, "fast", guard)
    for k, e in getattr(guard, "experts", {}).items():
        if isinstance(e, (JudgeExpert, JudgedDomainExpert)):
            out.append((k, e.judge))
    return out
