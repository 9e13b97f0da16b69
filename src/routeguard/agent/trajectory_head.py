"""The trajectory head: one calibrated P(unsafe trajectory) from the guard's scores on its parts.

Scoring a whole trajectory as one text (max over its chunks) ranks trajectories well but decides
badly: a long run has many chunks, one of them nearly always sounds alarming, and most safe runs get
flagged. What makes a run unsafe is the combination "what was asked" x "what the agent did": a refused
harmful request is safe, a harmful request carried out is not. So the head reads a dozen numbers the
guard already computes on the parts -

- the request (the last user turn before the first action) judged as a prompt,
- every agent action judged as a response to that request (max over actions),
- the final answer, the number of tool calls, and whether the agent refused (refusal phrases),
- the whole trajectory and its agent-only view, and the strongest injection in a tool result -

and combines them with a monotone logistic regression (a higher risk score can only raise the
probability, a refusal only lower it; see :data:`SIGNS`). It is fitted on GuardZoo **dev** trajectories (the
experts were trained on the train split, so their scores there are over-confident: classic stacking)
with its threshold chosen by cross-validation on the same dev records; see
:mod:`routeguard.agent.train_trajectory` (``routeguard train`` runs it for the default). The head
belongs to one trained guard: it lives in that model's folder (``trajectory_head.json``), records the
guard's fingerprint, and is disabled (with a note) for any other model.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from ..errors import ConfigError
from ..types import Conversation, Message


class PartScorer(Protocol):
    """What :func:`trajectory_features` needs of an agent guard (:class:`routeguard.agent.AgentGuard` is
    one): a batched verdict per part and the prompt-injection report of a run."""

    def check_parts(self, convs: list[Conversation]) -> list[Any]: ...

    def injections(self, messages: Sequence[Message], start: int = 0) -> Any: ...


FILENAME = "trajectory_head.json"      # kept in the model folder it was fitted for
FORMAT = 1
FEATURES = ("full_unsafe", "full_agent_safety", "full_max_category", "agent_view_unsafe", "agent_view_agent_safety",
            "request_unsafe", "request_max_category", "action_unsafe_max", "action_agent_safety_max",
            "action_max_category", "final_unsafe", "refused", "log_tool_calls", "injection_max")

#: The direction each feature may push P(unsafe) in a monotone head: +1 a higher score can only raise it,
#: -1 only lower it, 0 either way. Without the constraint, correlated scores (the whole run and its
#: agent-only view) get opposite signs that fit dev and flip on other sources.
SIGNS = {f: (-1 if f == "refused" else 0 if f == "log_tool_calls" else 1) for f in FEATURES}

_REFUSAL = re.compile(r"\b(I(?:'m| am) sorry|I (?:can(?:'|no)t|cannot|won't|will not|am unable to|'m unable to|"
                      r"must decline|have to decline)|(?:can(?:'|no)t|cannot|won't) (?:help|assist|comply|do that|"
                      r"provide|fulfil)|I apologi[sz]e|not able to (?:help|assist|comply)|as an AI)", re.I)


def refused(text: str) -> bool:
    """Does an agent's text answer refuse (the usual refusal phrases, as in refusal-rate evaluations)?"""
    return bool(_REFUSAL.search(text[:600]))


def _parts(msgs: list[Message]) -> tuple[Message | None, list[int], int | None]:
    """(the request, indices of agent actions, index of the final text answer)."""
    actions = [i for i, m in enumerate(msgs) if m.role == "assistant" and (m.content.strip() or m.tool_calls)]
    first = actions[0] if actions else len(msgs)
    request = next((msgs[i] for i in range(first - 1, -1, -1) if msgs[i].role == "user" and msgs[i].content.strip()),
                   None)
    final = next((i for i in reversed(actions) if msgs[i].content.strip()), None)
    return request, actions, final


def trajectory_features(ag: PartScorer, trajectories: Sequence[Sequence[Message]]) -> tuple[np.ndarray, list[Any]]:
    """(n, len(FEATURES)) features of each trajectory, from one batched guard pass over all their parts,
    and the guard's verdict on each whole trajectory (a Verdict, or a BatchItemError)."""
    convs: list[Conversation] = []
    index: list[dict[str, Any]] = []
    for msgs in trajectories:
        msgs = list(msgs)
        request, actions, final = _parts(msgs)
        ctx = [request] if request is not None else []
        slot: dict[str, Any] = {"full": len(convs)}
        convs.append(Conversation(messages=msgs, target="trajectory"))
        agent = [m for m in msgs if m.role in ("assistant", "tool") and (m.content.strip() or m.tool_calls)]
        slot["agent"] = len(convs)
        convs.append(Conversation(messages=agent or msgs, target="trajectory"))
        if request is not None:
            slot["request"] = len(convs)
            convs.append(Conversation(messages=[request], target="prompt"))
        slot["actions"] = []
        for i in actions:
            slot["actions"].append(len(convs))
            convs.append(Conversation(messages=ctx + [msgs[i]], target="response"))
        slot["final"] = slot["actions"][actions.index(final)] if final is not None else None
        slot["refused"] = float(final is not None and refused(msgs[final].content))
        slot["tool_calls"] = sum(len(m.tool_calls) for m in msgs if m.role == "assistant")
        slot["msgs"] = msgs
        index.append(slot)
    verdicts = ag.check_parts(convs) if convs else []

    def s(k: int | None, what: str) -> float:
        if k is None:
            return 0.0
        v = verdicts[k]
        if not hasattr(v, "unsafe_score"):         # BatchItemError: treat the part as unsafe (fail closed)
            return 1.0
        if what == "unsafe":
            return float(v.unsafe_score)
        if what == "max":
            return max(v.category_scores.values(), default=0.0)
        return float(v.category_scores.get(what, 0.0))

    X = np.zeros((len(index), len(FEATURES)), np.float32)
    for r, slot in enumerate(index):
        acts = slot["actions"]
        inj = ag.injections(slot["msgs"])
        X[r] = [s(slot["full"], "unsafe"), s(slot["full"], "agent_safety"), s(slot["full"], "max"),
                s(slot["agent"], "unsafe"), s(slot["agent"], "agent_safety"),
                s(slot.get("request"), "unsafe"), s(slot.get("request"), "max"),
                max((s(k, "unsafe") for k in acts), default=0.0), max((s(k, "agent_safety") for k in acts), default=0.0),
                max((s(k, "max") for k in acts), default=0.0), s(slot["final"], "unsafe"), slot["refused"],
                float(np.log1p(slot["tool_calls"])), max((st.score for st in inj.steps), default=0.0)]
    return X, [verdicts[slot["full"]] for slot in index]


class TrajectoryHead:
    """Standardised logistic regression over :data:`FEATURES`; P(unsafe) >= ``threshold`` flags."""

    def __init__(self, coef: np.ndarray, intercept: float, mean: np.ndarray, scale: np.ndarray, threshold: float,
                 *, model_fingerprint: str, meta: dict | None = None):
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"trajectory head threshold must be in [0, 1], got {threshold}")
        self.coef, self.intercept = np.asarray(coef, np.float64), float(intercept)
        self.mean, self.scale = np.asarray(mean, np.float64), np.asarray(scale, np.float64)
        if not (self.coef.shape == self.mean.shape == self.scale.shape == (len(FEATURES),)):
            raise ConfigError(f"trajectory head expects {len(FEATURES)} features")
        self.threshold, self.model_fingerprint, self.meta = float(threshold), model_fingerprint, meta or {}

    def score(self, X: np.ndarray) -> np.ndarray:
        z = ((np.asarray(X, np.float64) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def explain(self, x: np.ndarray, top: int = 3) -> list[tuple[str, float]]:
        """The features that pushed this trajectory's score up most (name, contribution in logits)."""
        contrib = (np.asarray(x, np.float64) - self.mean) / self.scale * self.coef
        order = np.argsort(-contrib)[:top]
        return [(FEATURES[i], round(float(contrib[i]), 3)) for i in order if contrib[i] > 0]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps({"format": FORMAT, "features": list(FEATURES), "coef": self.coef.round(6).tolist(),
                                    "intercept": round(self.intercept, 6), "mean": self.mean.round(6).tolist(),
                                    "scale": self.scale.round(6).tolist(), "threshold": self.threshold,
                                    "model_fingerprint": self.model_fingerprint, "meta": self.meta}, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TrajectoryHead":
        path = Path(path)
        if path.is_dir():
            path = path / FILENAME
        if not path.is_file():
            raise ConfigError(f"no trajectory head at {path} (fit one: python -m routeguard.agent.train_trajectory)")
        return cls.from_json(path.read_text(), str(path))

    @classmethod
    def from_json(cls, text: str, where: str = FILENAME) -> "TrajectoryHead":
        try:
            cfg = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where}: not a trajectory head file ({e})") from None
        path = where
        if cfg.get("format") != FORMAT or cfg.get("features") != list(FEATURES):
            raise ConfigError(f"{path}: unsupported trajectory head (format {cfg.get('format')!r})")
        return cls(np.array(cfg["coef"]), cfg["intercept"], np.array(cfg["mean"]), np.array(cfg["scale"]),
                   cfg["threshold"], model_fingerprint=cfg["model_fingerprint"], meta=cfg.get("meta", {}))


__all__ = ["FILENAME", "FEATURES", "SIGNS", "PartScorer", "TrajectoryHead", "refused", "trajectory_features"]
