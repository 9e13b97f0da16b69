"""Judges and cascades as guards of ``routeguard eval`` (this module registers them with
:func:`routeguard.eval.guards.register`; the registry imports it as a plugin module on first use):

    judge:<judge spec>      an LLM judge alone, e.g. judge:llama-guard-3@http://localhost:8000/v1#meta-llama/Llama-Guard-3-8B
    cascade:<judge spec>    RouteGuard (?fast=<model>, default the packaged one), escalating to the judge
                            when its P(unsafe) is inside ?band=lo,hi (default 0.2,0.8)
"""
from __future__ import annotations

import time
from typing import Any

from ..data.schema import Record
from ..eval.guards import EvalGuard, Prediction, RouteGuardGuard, _timed_share, register
from ..taxonomy import CATEGORIES
from .cascade import CascadeGuard
from .errors import JudgeError
from .judge import Judge
from .spec import judge_from_spec

__all__ = ["CascadeEvalGuard", "JudgeEvalGuard", "make_cascade_guard", "make_judge_guard"]


class JudgeEvalGuard(EvalGuard):
    """An LLM judge under evaluation: flagged = the judge's own label; P(unsafe) = its score (from
    log-probabilities when returned, else 0/1). A failed or unparseable answer is an error prediction
    (flagged, never safe)."""

    kind = "judge"

    def __init__(self, judge: Judge, name: str | None = None):
        self.judge = judge
        self.name = name or f"judge:{judge.format.name}"
        self.categories = tuple(c for c in judge.categories if c in CATEGORIES)
        # running totals, updated in place after every batch so the results file gets the final numbers
        self.usage: dict[str, Any] = {"judged": 0, "errors": 0, "calls": 0, "prompt_tokens": 0,
                                      "completion_tokens": 0, "note": "includes the runner's warm-up record"}

    def info(self) -> dict[str, Any]:
        return {**super().info(), **self.judge.info(), "usage": self.usage}

    def close(self) -> None:
        self.judge.close()

    def predict(self, records: list[Record]) -> list[Prediction]:
        from ..training.fitting import to_conv

        t0 = time.perf_counter()
        convs: list[Any] = []
        for r in records:
            try:
                convs.append(to_conv(r))
            except Exception as e:  # noqa: BLE001 - a malformed record is this slot's error
                convs.append(JudgeError(f"{type(e).__name__}: {e}"))
        ok = [i for i, c in enumerate(convs) if not isinstance(c, Exception)]
        res = self.judge.judge_many([convs[i] for i in ok]) if ok else []
        by_i = dict(zip(ok, res))
        share = _timed_share(t0, len(records))
        out = []
        for i in range(len(records)):
            j = by_i.get(i, convs[i])
            if isinstance(j, Exception):
                self.usage["errors"] += 1
                out.append(Prediction.failed(f"{type(j).__name__}: {j}", share))
                continue
            self.usage["judged"] += 1
            self.usage["calls"] += j.calls
            self.usage["prompt_tokens"] += j.prompt_tokens
            self.usage["completion_tokens"] += j.completion_tokens
            out.append(Prediction(unsafe_score=j.score, flagged=j.unsafe,
                                  category_scores={c: s for c, s in j.category_scores.items() if c in CATEGORIES},
                                  categories=list(j.categories), latency_ms=j.latency_ms,
                                  native={"label": j.native_label, "native_categories": j.native_categories,
                                          "score_source": j.score_source, "calls": j.calls}))
        return out


class CascadeEvalGuard(RouteGuardGuard):
    """A :class:`CascadeGuard` under evaluation; each prediction says whether it was escalated."""

    kind = "cascade"

    def __init__(self, cascade: CascadeGuard, name: str | None = None):
        super().__init__("default", name=name or f"cascade:{cascade.judge.format.name}", guard=cascade)
        self.cascade = cascade
        self.stats: dict[str, Any] = {**cascade.stats.as_dict(), "note": "includes the runner's warm-up record"}

    def info(self) -> dict[str, Any]:
        return {**super().info(), "judge": self.cascade.judge.info(), "band": list(self.cascade.band),
                "combine": self.cascade.combine, "cascade_stats": self.stats}

    def close(self) -> None:
        self.cascade.judge.close()

    def predict(self, records: list[Record]) -> list[Prediction]:
        from ..types import BatchItemError

        t0 = time.perf_counter()
        xs = [{"messages": r.messages, "target": r.target} for r in records]
        try:
            out = self.cascade.check_batch_detailed(xs)
        except Exception as e:  # noqa: BLE001 - a crash judges nothing: every record is an error
            return Prediction.all_failed(e, t0, len(records))
        fast_ms = _timed_share(t0, len(records)) - sum(
            r.added_ms for r in out if not isinstance(r, BatchItemError)) / max(1, len(records))
        preds = []
        for r in out:
            if isinstance(r, BatchItemError):
                preds.append(Prediction.failed(r.error, fast_ms))
                continue
            v = r.verdict
            native: dict[str, Any] = {"escalated": r.escalated}
            if r.escalated:
                native.update(added_ms=round(r.added_ms, 1), fast_score=r.fast.unsafe_score,
                              judge_error=r.error, judge_label=r.judgement.native_label if r.judgement else None)
            if v.degraded:
                native["degraded"] = True
            preds.append(Prediction.from_verdict(v, max(0.0, fast_ms) + r.added_ms, routed=self.routed, native=native))
        self.stats.update(self.cascade.stats.as_dict())
        return preds


@register("judge", "LLM judge over OpenAI-compatible HTTP or GGUF: judge:<format>@<base url>#<model>[?opts] "
          "(formats: llama-guard-3/4, wildguard, qwen3guard-gen, shieldgemma, granite-guardian, guardreasoner, "
          "policyguard, routeguard-critique)", aliases=("llm-judge",))
def make_judge_guard(arg: str | None) -> EvalGuard:
    from ..errors import ConfigError

    if not arg:
        raise ConfigError("judge guard needs a judge spec: judge:<format>@<base url>#<model>")
    judge, rest = judge_from_spec(arg)
    if rest:
        raise ConfigError(f"options {sorted(rest)} apply to cascade:, not judge:")
    return JudgeEvalGuard(judge)


@register("cascade", "packaged RouteGuard + an LLM judge asked only when unsure: "
          "cascade:<format>@<base url>#<model>?band=0.2,0.8")
def make_cascade_guard(arg: str | None, fast: Any = None) -> EvalGuard:
    from ..errors import ConfigError
    from ..eval.guards import GuardUnavailable

    if not arg:
        raise ConfigError("cascade guard needs a judge spec: cascade:<format>@<base url>#<model>?band=0.2,0.8")
    judge, rest = judge_from_spec(arg)
    if fast is None:
        import routeguard

        try:
            from ..eval.guards import _encoder

            fast = routeguard.load(rest.get("fast", "default"), encoder=_encoder())
        except ConfigError as e:
            raise GuardUnavailable(f"cascade: cannot load RouteGuard {rest.get('fast', 'default')!r}: {e}") from e
    cascade = CascadeGuard(fast, judge, band=rest.get("band", (0.2, 0.8)), combine=rest.get("combine", "judge"))
    return CascadeEvalGuard(cascade)
