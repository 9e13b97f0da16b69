"""The Policy decides: thresholds per category, routing thresholds, and what an expert error means."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .taxonomy import ALL_CATEGORIES

#: The judged targets a Policy can hold its own binary decision rule for.
RuleTarget = Literal["prompt", "response", "conversation", "trajectory"]


def _check_category_scores(v: dict[str, float], field: str) -> dict[str, float]:
    for k, t in v.items():
        if k not in ALL_CATEGORIES:
            raise ValueError(f"unknown category {k!r} in {field}")
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"{field} value for {k!r} must be in [0, 1], got {t}")
    return v


class TargetRule(BaseModel):
    """The binary decision of one judged target (``None`` keeps the Policy's own value)."""

    model_config = ConfigDict(extra="forbid")
    unsafe_threshold: float | None = Field(None, ge=0.0, le=1.0)
    category_gate: float | None = Field(None, ge=0.0, le=1.0)
    standalone: dict[str, float] | None = None

    @field_validator("standalone")
    @classmethod
    def _check_standalone(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        return None if v is None else _check_category_scores(v, "standalone")


class Policy(BaseModel):
    """Decision rules applied to calibrated expert scores.

    - ``thresholds``: per-category flag thresholds (missing categories use ``default_threshold``).
    - ``unsafe_threshold``: flag when the always-on binary expert's P(unsafe) reaches it.
    - ``enforce``: categories that can flag (None = all). Scores of the others are still reported.
    - ``on_error``: ``block`` (default, fail closed) flags a conversation whose expert failed;
      ``allow`` does not, but the verdict is still marked ``degraded``.
    - ``category_gate``: a category flags only if the always-on binary expert's P(unsafe) also reaches
      this gate (two-stage decision: it stops a specialist from flagging look-alikes on its own).
    - ``route_threshold``: router probability at which a domain's expert is consulted.
    - ``fallback_below``: if the router's P(safe) is below this and no domain reaches
      ``route_threshold``, every expert is consulted (fallback).
    - ``standalone``: per-category scores at which a category flags on its own, whatever P(unsafe)
      (no gate). Chosen per target under the false-positive budget (:mod:`routeguard.training.operating_points`):
      a harmful request whose binary score sits just under the threshold is still caught by a category
      whose benign look-alikes score low; empty by default.
    - ``reread_sentences_above``: a text that fits one encoder window but holds several sentences is also
      read sentence by sentence when the always-on binary expert's P(unsafe) on the whole reaches this:
      a mean-pooled window averages one harmful sentence away among benign ones (texts longer than one
      window are always read by sentence too). 0 re-reads every such text, 1 none; the default 0.02 catches
      0.78 of buried harmful sentences where a full re-read catches 0.83, re-reading 41 % of benign
      paragraphs (benchmarks/results/buried_harm.json).
    - ``reread_triage``: what the bar is compared with. ``text``: P(unsafe) of the whole window decides
      whether all its sentences are re-read (a text of several windows: always). ``sentence``: each
      sentence's P(unsafe) from a vector pooled over its tokens in its window's own pass (no encoder call)
      decides whether that sentence alone is re-read, in texts of one window and of several; encoders that
      cannot pool spans fall back to ``text``.
    - ``by_target``: ``unsafe_threshold`` / ``category_gate`` / ``standalone`` of one judged target (prompt, response,
      conversation, trajectory). Operating points are chosen per target: benign responses and benign
      prompts do not score alike, so one shared threshold is set by whichever binds first.
    """

    model_config = ConfigDict(extra="forbid")
    thresholds: dict[str, float] = Field(default_factory=dict)
    default_threshold: float = Field(0.5, ge=0.0, le=1.0)
    unsafe_threshold: float = Field(0.5, ge=0.0, le=1.0)
    category_gate: float = Field(0.0, ge=0.0, le=1.0)
    enforce: list[str] | None = None
    on_error: Literal["block", "allow"] = "block"
    route_threshold: float = Field(0.2, ge=0.0, le=1.0)
    fallback_below: float = Field(0.8, ge=0.0, le=1.0)
    standalone: dict[str, float] = Field(default_factory=dict)
    by_target: dict[RuleTarget, TargetRule] = Field(default_factory=dict)
    reread_sentences_above: float = Field(0.02, ge=0.0, le=1.0)
    reread_triage: Literal["text", "sentence"] = "text"

    @field_validator("thresholds", "standalone")
    @classmethod
    def _check_thresholds(cls, v: dict[str, float], info) -> dict[str, float]:
        return _check_category_scores(v, info.field_name)

    @field_validator("enforce")
    @classmethod
    def _check_enforce(cls, v: list[str] | None) -> list[str] | None:
        for k in v or []:
            if k not in ALL_CATEGORIES:
                raise ValueError(f"unknown category {k!r} in enforce")
        return v

    def threshold(self, category: str) -> float:
        return self.thresholds.get(category, self.default_threshold)

    def enforced(self, category: str) -> bool:
        return self.enforce is None or category in self.enforce

    def flags(self, scores: dict[str, float], unsafe: float | None) -> dict[str, bool]:
        """Which categories flag: an enforced category at its threshold once P(unsafe) reaches the
        gate (``unsafe`` None: no binary expert, no gate), or at its ``standalone`` score on its own."""
        gate_ok = unsafe is None or unsafe >= self.category_gate
        return {c: self.enforced(c) and ((gate_ok and s >= self.threshold(c))
                                         or (c in self.standalone and s >= self.standalone[c]))
                for c, s in scores.items()}

    def for_target(self, target: str | None) -> "Policy":
        """The policy that decides for one judged target: its ``by_target`` rule applied."""
        rule = self.by_target.get(target) if target else None  # type: ignore[call-overload]
        if rule is None:
            return self
        update = {k: v for k, v in rule.model_dump().items() if v is not None}
        return self.model_copy(update=update | {"by_target": {}})

    def merged(self, **overrides: object) -> "Policy":
        """A copy with some fields replaced (validated). Overriding ``unsafe_threshold``, ``category_gate``
        or ``standalone`` overrides it for every target (the per-target values of that field go)."""
        data = self.model_dump()
        given = {k: v for k, v in overrides.items() if v is not None}
        data.update(given)
        if "by_target" not in given:
            for field in ("unsafe_threshold", "category_gate", "standalone"):
                if field in given:
                    for rule in data["by_target"].values():
                        rule[field] = None
        return Policy.model_validate(data)
