"""The Policy decides: thresholds per category, routing thresholds, and what an expert error means."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .taxonomy import ALL_CATEGORIES

#: The judged targets a Policy can hold its own binary decision rule for.
RuleTarget = Literal["prompt", "response", "conversation", "trajectory"]


class TargetRule(BaseModel):
    """The binary decision of one judged target (``None`` keeps the Policy's own value)."""

    model_config = ConfigDict(extra="forbid")
    unsafe_threshold: float | None = Field(None, ge=0.0, le=1.0)
    category_gate: float | None = Field(None, ge=0.0, le=1.0)


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
    - ``by_target``: ``unsafe_threshold`` / ``category_gate`` of one judged target (prompt, response,
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
    by_target: dict[RuleTarget, TargetRule] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _check_thresholds(cls, v: dict[str, float]) -> dict[str, float]:
        for k, t in v.items():
            if k not in ALL_CATEGORIES:
                raise ValueError(f"unknown category {k!r} in thresholds")
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"threshold for {k!r} must be in [0, 1], got {t}")
        return v

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

    def for_target(self, target: str | None) -> "Policy":
        """The policy that decides for one judged target: its ``by_target`` rule applied."""
        rule = self.by_target.get(target) if target else None  # type: ignore[call-overload]
        if rule is None:
            return self
        update = {k: v for k, v in rule.model_dump().items() if v is not None}
        return self.model_copy(update=update | {"by_target": {}})

    def merged(self, **overrides: object) -> "Policy":
        """A copy with some fields replaced (validated). Overriding ``unsafe_threshold`` or
        ``category_gate`` overrides it for every target (the per-target values of that field go)."""
        data = self.model_dump()
        given = {k: v for k, v in overrides.items() if v is not None}
        data.update(given)
        if "by_target" not in given:
            for field in ("unsafe_threshold", "category_gate"):
                if field in given:
                    for rule in data["by_target"].values():
                        rule[field] = None
        return Policy.model_validate(data)
