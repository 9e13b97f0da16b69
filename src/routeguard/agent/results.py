"""Typed results of the agent guard."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..types import Verdict

Checker = Literal["rule", "learned", "none"]


class PolicyResult(BaseModel):
    """One operator policy judged against a trajectory (PolicyGuard's ``violation`` / ``no violation``)."""

    policy: str
    violated: bool | None               # None: undecidable (no rule applies and no matcher is loaded)
    step: int | None = None             # index in ``messages`` of the violating step
    message: dict[str, Any] | None = None   # that message, OpenAI shape
    score: float | None = None          # matcher P(violation) at ``step`` (else its highest over the steps)
    checker: Checker = "none"           # what decided: a parsed rule, the learned matcher, or nothing
    rule: str | None = None             # the rule that found the violation (or decided compliance)
    rules: list[str] = Field(default_factory=list)   # every rule parsed from the policy
    complete: bool = False              # the rules cover every sentence of the policy
    reason: str = ""

    @property
    def label(self) -> str:
        return "unknown" if self.violated is None else "violation" if self.violated else "no violation"


class InjectionStep(BaseModel):
    step: int                           # index of a tool message
    score: float                        # P(prompt attack) (or P(unsafe)) of that tool result alone
    flagged: bool


class InjectionReport(BaseModel):
    """Indirect prompt injection: each tool result scored on its own; the first above threshold."""

    scorer: str                         # expert used: "attack" (prompt_attack) or "general" (unsafe)
    threshold: float
    flagged: bool
    step: int | None = None             # first tool result at or above threshold: where injected text enters
    steps: list[InjectionStep] = Field(default_factory=list)
    error: str | None = None


class TrajectoryScore(BaseModel):
    """The trajectory head's decision (see :mod:`routeguard.agent.trajectory_head`)."""

    score: float                        # calibrated P(unsafe trajectory)
    threshold: float
    flagged: bool
    features: dict[str, float] = Field(default_factory=dict)   # what the head read
    drivers: list[str] = Field(default_factory=list)           # the features that raised the score most


class AgentVerdict(BaseModel):
    """The guard's verdict on a trajectory, plus policy compliance and prompt-injection findings."""

    flagged: bool                       # unsafe (verdict), a policy violated, or undecidable + fail-closed
    verdict: Verdict                    # the RouteGuard verdict on the whole trajectory
    policies: list[PolicyResult] = Field(default_factory=list)
    injection: InjectionReport | None = None
    trajectory: TrajectoryScore | None = None   # the trajectory head's decision, when one is loaded
    degraded: bool = False
    reason: str = ""
    latency_ms: float = 0.0

    @property
    def violated_policies(self) -> list[PolicyResult]:
        return [p for p in self.policies if p.violated]


class StepDecision(BaseModel):
    """``check_step``: may the agent take the proposed step?"""

    action: Literal["allow", "block"]
    reasons: list[str] = Field(default_factory=list)
    step: int                           # the index the proposed step would have in the trajectory
    unsafe_score: float
    verdict: Verdict                    # the proposed step judged with the history as context
    policies: list[PolicyResult] = Field(default_factory=list)
    injection: InjectionReport | None = None
    warnings: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0

    @property
    def allowed(self) -> bool:
        return self.action == "allow"


class PrefixScore(BaseModel):
    step: int                           # the prefix is messages[:step + 1]
    role: str
    flagged: bool
    unsafe_score: float
    categories: list[str] = Field(default_factory=list)


class PrefixReport(BaseModel):
    """Every prefix of a trajectory that ends in an agent action or a tool result, scored."""

    n_messages: int
    prefixes: list[PrefixScore]
    earliest_flagged_step: int | None = None
    latency_ms: float = 0.0
