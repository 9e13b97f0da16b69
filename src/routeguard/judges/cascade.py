"""A second-opinion cascade: the fast guard judges everything; an LLM judge is asked only when the
fast guard is unsure (its P(unsafe) inside ``band``). The added latency and cost are reported."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from ..errors import ConfigError
from ..policy import Policy
from ..types import BatchItemError, ExpertResult, GuardInput, Target, Verdict, to_conversation
from .errors import JudgeError
from .judge import Judge, Judgement

__all__ = ["CascadeGuard", "CascadeResult", "CascadeStats"]


@dataclass
class CascadeResult:
    """One cascaded decision: the final verdict, whether the judge was asked, and what it cost."""

    verdict: Verdict
    fast: Verdict
    escalated: bool
    judgement: Judgement | None = None
    error: str | None = None
    added_ms: float = 0.0


class CascadeStats:
    """Running totals: how many conversations were checked, escalated, failed, and the judge's cost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.checked = self.escalated = self.errors = self.changed = 0
        self.added_ms = 0.0
        self.prompt_tokens = self.completion_tokens = self.calls = 0

    def add(self, r: CascadeResult) -> None:
        with self._lock:
            self.checked += 1
            if r.escalated:
                self.escalated += 1
                self.added_ms += r.added_ms
                self.errors += r.error is not None
                self.changed += r.verdict.flagged != r.fast.flagged
                if r.judgement is not None:
                    self.calls += r.judgement.calls
                    self.prompt_tokens += r.judgement.prompt_tokens
                    self.completion_tokens += r.judgement.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "escalated": self.escalated,
                "escalation_rate": self.escalated / self.checked if self.checked else 0.0,
                "judge_errors": self.errors, "decisions_changed": self.changed,
                "added_ms_total": round(self.added_ms, 1),
                "added_ms_per_escalation": round(self.added_ms / self.escalated, 1) if self.escalated else 0.0,
                "added_ms_per_check": round(self.added_ms / self.checked, 2) if self.checked else 0.0,
                "judge_calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens}


class CascadeGuard:
    """``fast`` (a RouteGuard) first; ``judge`` only for verdicts with ``lo <= unsafe_score <= hi``.

    ``combine="judge"`` (default): for escalated conversations the judge decides — P(unsafe) becomes
    the judge's, category scores are capped at it and the categories it names get it. ``"max"``: the
    judge can only raise scores. A judge failure yields a degraded verdict, flagged when the Policy's
    ``on_error`` is ``block`` (default), otherwise the fast verdict stands (still marked degraded).
    Degraded fast verdicts are not escalated (they are already fail-closed).

    Quacks like a RouteGuard (``check``, ``check_batch``, ``categories``, ``router``, ``name``) so it
    can be evaluated and served the same way; ``stats`` counts escalations and the added latency.
    """

    def __init__(self, fast: Any, judge: Judge, band: tuple[float, float] = (0.2, 0.8), *,
                 combine: Literal["judge", "max"] = "judge", name: str | None = None):
        lo, hi = band
        if not (0.0 <= lo <= hi <= 1.0):
            raise ConfigError(f"band must be (lo, hi) with 0 <= lo <= hi <= 1, got {band}")
        if combine not in ("judge", "max"):
            raise ConfigError(f"combine must be 'judge' or 'max', not {combine!r}")
        self.fast, self.judge, self.band, self.combine = fast, judge, (float(lo), float(hi)), combine
        self._name = name
        self.stats = CascadeStats()
        self.expert_name = f"judge:{judge.name}"

    # -- RouteGuard look-alike -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name or f"{self.fast.name}+{self.judge.format.name}"

    @property
    def categories(self) -> list[str]:
        return list(self.fast.categories)

    @property
    def router(self) -> Any:
        return self.fast.router

    @property
    def experts(self) -> dict[str, Any]:
        return self.fast.experts

    @property
    def policy(self) -> Policy:
        return self.fast.policy

    @property
    def encoder(self) -> Any:
        return self.fast.encoder

    @property
    def meta(self) -> dict[str, Any]:
        return {**self.fast.meta, "cascade": {"judge": self.judge.name, "band": list(self.band),
                                              "combine": self.combine}}

    # -- checking --------------------------------------------------------------------------------
    def check(self, x: GuardInput, *, target: Target | None = None, policy: Policy | None = None) -> Verdict:
        r = self.check_batch_detailed([x], target=target, policy=policy)[0]
        if isinstance(r, BatchItemError):
            from ..errors import InputError

            raise InputError(r.error)
        return r.verdict

    def check_batch(self, xs: Sequence[GuardInput], *, target: Target | None = None,
                    policy: Policy | None = None) -> list[Verdict | BatchItemError]:
        return [r if isinstance(r, BatchItemError) else r.verdict
                for r in self.check_batch_detailed(xs, target=target, policy=policy)]

    def escalates(self, v: Verdict) -> bool:
        return not v.degraded and self.band[0] <= v.unsafe_score <= self.band[1]

    def check_batch_detailed(self, xs: Sequence[GuardInput], *, target: Target | None = None,
                             policy: Policy | None = None) -> list[CascadeResult | BatchItemError]:
        pol = policy or self.fast.policy
        fast = self.fast.check_batch(xs, target=target, policy=pol)
        esc = [i for i, v in enumerate(fast) if isinstance(v, Verdict) and self.escalates(v)]
        judged: dict[int, Judgement | JudgeError] = {}
        t0 = time.perf_counter()
        if esc:
            convs = [to_conversation(xs[i], target) for i in esc]
            for i, j in zip(esc, self.judge.judge_many(convs)):
                judged[i] = j
        wall = (time.perf_counter() - t0) * 1000
        out: list[CascadeResult | BatchItemError] = []
        for i, v in enumerate(fast):
            if isinstance(v, BatchItemError):
                out.append(v)
                continue
            if i not in judged:
                r = CascadeResult(verdict=v, fast=v, escalated=False)
            else:
                j = judged[i]
                added = j.latency_ms if isinstance(j, Judgement) else wall / max(1, len(esc))
                r = self._merge(v, j, pol, added)
            self.stats.add(r)
            out.append(r)
        return out

    def _merge(self, v: Verdict, j: Judgement | JudgeError, policy: Policy, added_ms: float) -> CascadeResult:
        policy = policy.for_target(v.target)
        route = v.route.model_copy(update={"experts": list(v.route.experts) + [self.expert_name]})
        if isinstance(j, JudgeError):
            err = f"{type(j).__name__}: {j}"
            res = ExpertResult(expert=self.expert_name, latency_ms=added_ms, error=err)
            block = policy.on_error == "block"
            act = "blocked (fail-closed)" if block else "allowed (on_error=allow)"
            verdict = v.model_copy(update={
                "flagged": True if block else v.flagged, "degraded": True,
                "unsafe_score": max(v.unsafe_score, 1.0) if block else v.unsafe_score,
                "experts": list(v.experts) + [res], "route": route, "latency_ms": v.latency_ms + added_ms,
                "reason": f"{v.reason}; escalated to {self.judge.name}: DEGRADED, {act}: {err}"})
            return CascadeResult(verdict=verdict, fast=v, escalated=True, error=err, added_ms=added_ms)
        jp = j.score
        scores = dict(v.category_scores)
        listed = {c: s for c, s in j.category_scores.items() if c in scores}
        if self.combine == "judge":
            scores = {c: min(s, jp) for c, s in scores.items()}
            scores.update(listed)
            if j.unsafe and not listed and scores:
                top = max(v.category_scores, key=v.category_scores.get)  # type: ignore[arg-type]
                scores[top] = jp
            unsafe = jp
        else:
            for c, s in listed.items():
                scores[c] = max(scores[c], s)
            if j.unsafe and not listed and scores:
                top = max(v.category_scores, key=v.category_scores.get)  # type: ignore[arg-type]
                scores[top] = max(scores[top], jp)
            unsafe = max(v.unsafe_score, jp)
        flags = policy.flags(scores, unsafe)
        flagged = any(flags.values()) or unsafe >= policy.unsafe_threshold
        if self.combine == "max":
            flagged = flagged or v.flagged
        res = ExpertResult(expert=self.expert_name, scores={**j.category_scores, "unsafe": jp},
                           unsafe_score=jp, latency_ms=added_ms)
        named = ", ".join(j.categories or j.native_categories) or "no category"
        why = (f"escalated (fast P(unsafe)={v.unsafe_score:.2f} in band {self.band[0]:.2f}-{self.band[1]:.2f}) to "
               f"{self.judge.name}: {'unsafe' if j.unsafe else 'safe'} ({named}), P(unsafe)={jp:.2f} from "
               f"{j.score_source}, +{added_ms:.0f} ms")
        hit = sorted((c for c, f in flags.items() if f), key=lambda c: -scores[c])
        head = ("unsafe: " + ", ".join(f"{c} {scores[c]:.2f}" for c in hit)) if hit else \
            (f"unsafe: P(unsafe)={unsafe:.2f}" if flagged else f"safe: P(unsafe)={unsafe:.2f}")
        verdict = v.model_copy(update={
            "flagged": flagged, "unsafe_score": float(unsafe), "categories": flags, "category_scores": scores,
            "experts": list(v.experts) + [res], "route": route, "latency_ms": v.latency_ms + added_ms,
            "reason": f"{head}; {why}"})
        return CascadeResult(verdict=verdict, fast=v, escalated=True, judgement=j, added_ms=added_ms)
