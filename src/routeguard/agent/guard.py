"""AgentGuard: trajectories, operator policies, indirect prompt injection, prefixes and per-step checks.

    >>> import routeguard
    >>> from routeguard.agent import AgentGuard
    >>> ag = AgentGuard(routeguard.load())
    >>> v = ag.check(messages, policies=["Never delete files without asking the user"])
    >>> v.flagged, [(p.policy, p.step, p.checker) for p in v.violated_policies]
    >>> ag.check_step(history, {"role": "assistant", "tool_calls": [...]}).action   # "allow" / "block"

It wraps a loaded :class:`~routeguard.RouteGuard` and reuses its encoder, experts and Policy; nothing in
the guard is changed. Embeddings are memoised (bounded LRU) so that the growing history of an agent run
is encoded once: call :meth:`AgentGuard.prefetch` with the history when a tool result arrives, and the
next :meth:`check_step` only encodes the proposed step.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError, InputError
from ..features import CONTEXT_CHARS, encode_conversations
from ..guard import RouteGuard
from ..types import Conversation, Message, judged, render
from .matcher import STEP_CHARS, PolicyMatcher
from .results import (AgentVerdict, InjectionReport, InjectionStep, PolicyResult, PrefixReport, PrefixScore, StepDecision,
                      TrajectoryScore)
from .rules import parse_policy, views_of
from .trajectory_head import FEATURES, FILENAME, TrajectoryHead, trajectory_features
from .trajectory import as_message, is_action, last_observation, load_trajectory, step_text


class MemoEncoder:
    """Bounded, thread-safe LRU memo in front of an encoder (same ``encode``/``chunk`` contract)."""

    def __init__(self, inner: Any, max_items: int = 4096):
        self.inner, self.max_items = inner, max_items
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._chunks: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            vecs = self.inner.encode(missing)
            with self._lock:
                for t, v in zip(missing, vecs):
                    self._memo[t] = v
                while len(self._memo) > self.max_items:
                    self._memo.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                v = self._memo.get(t)
                if v is None:                      # evicted meanwhile: encode alone
                    v = self.inner.encode([t])[0]
                else:
                    self._memo.move_to_end(t)
                out.append(v)
        return np.stack(out)

    def chunk(self, text: str) -> list[str]:
        with self._lock:
            c = self._chunks.get(text)
        if c is None:
            c = self.inner.chunk(text)
            with self._lock:
                self._chunks[text] = c
                while len(self._chunks) > 256:
                    self._chunks.popitem(last=False)
        return c


def _msg_dict(m: Message) -> dict[str, Any]:
    return m.model_dump(exclude_none=True, exclude_defaults=False)


class AgentGuard:
    """Agent-trajectory guard over a loaded RouteGuard.

    - ``policies``: operator policies applied to every call (a call's own ``policies`` are added).
    - ``matcher``: ``"default"`` (the packaged matcher), a path, a :class:`PolicyMatcher`, or None (rules only).
    - ``injection_threshold``: overrides the guard Policy's threshold for the injection scorer.
    - ``block_on_injection``: ``check_step`` blocks once an injected tool result is in the history
      (default: only warn; the verdict and policies decide).
    - ``injection_in_verdict``: let the guard's ``prompt_attack`` category flag the trajectory verdict.
      Default False: a tool result that *contains* an injection is reported in ``injection`` (and blocks
      only with ``block_on_injection``); the verdict is about what the agent did (AgentDojo runs where the
      agent read an injection but did not act on it are labelled safe).
    - ``view``: what ``check`` sends to the guard: ``"full"`` (the whole trajectory, default) or ``"agent"``
      (only the agent's messages and tool results: the user's request is left out, so a refused harmful
      request is not itself judged). Used only without a trajectory head.
    - ``trajectory_head``: ``"default"`` (the model's own, ``trajectory_head.json`` in its folder, when
      there is one), a path, a :class:`TrajectoryHead`, or None. With a head, ``check`` and
      ``check_prefixes`` decide "unsafe run" from the guard's scores on the request, each action, the
      final answer and the whole run (:mod:`routeguard.agent.trajectory_head`); a head fitted for another
      model is disabled (``head_note`` says why) and the whole-run verdict decides.
    """

    def __init__(self, guard: RouteGuard, *, policies: Sequence[str] = (), matcher: Any = "default",
                 injection_threshold: float | None = None, block_on_injection: bool = False,
                 view: str = "full", injection_in_verdict: bool = False, memo_size: int = 8192,
                 trajectory_head: Any = "default"):
        if not isinstance(guard, RouteGuard):
            raise ConfigError(f"AgentGuard wraps a RouteGuard, not {type(guard).__name__}")
        if injection_threshold is not None and not 0.0 <= injection_threshold <= 1.0:
            raise ConfigError(f"injection_threshold must be in [0, 1], got {injection_threshold}")
        if view not in ("full", "agent"):
            raise ConfigError(f"view must be 'full' or 'agent', not {view!r}")
        self.guard, self.view = guard, view
        self.policies = [self._check_policy_text(p) for p in policies]
        self.injection_threshold = injection_threshold
        self.block_on_injection = block_on_injection
        self.encoder = MemoEncoder(guard.encoder, memo_size)
        vpolicy = guard.policy
        if not injection_in_verdict and "prompt_attack" in guard.categories:
            cats = [c for c in (guard.policy.enforce or guard.categories) if c != "prompt_attack"]
            vpolicy = guard.policy.merged(enforce=cats)
        self.verdict_policy = vpolicy
        self._g = guard.replace(encoder=self.encoder, policy=vpolicy)
        self._matcher_spec = matcher
        self._matcher: PolicyMatcher | None = None
        self._matcher_note = ""
        self._matcher_loaded = False
        self._matcher_encoder: Any = None
        self._head_spec = trajectory_head
        self._head: TrajectoryHead | None = None
        self._head_loaded = False
        self.head_note = ""
        self._inj_cache: OrderedDict[tuple[str, str], float] = OrderedDict()   # (scorer, tool text) -> score
        self._inj_lock = threading.Lock()

    # -- configuration ---------------------------------------------------------------------------
    @staticmethod
    def _check_policy_text(p: Any) -> str:
        if not isinstance(p, str) or not p.strip():
            raise InputError(f"a policy is a non-empty string, got {p!r}")
        return p.strip()

    def _policies(self, extra: Sequence[str] | None) -> list[str]:
        out = list(self.policies)
        for p in extra or []:
            p = self._check_policy_text(p)
            if p not in out:
                out.append(p)
        return out

    @property
    def matcher(self) -> PolicyMatcher | None:
        if not self._matcher_loaded:
            self._matcher_loaded = True
            spec = self._matcher_spec
            if spec is None:
                self._matcher_note = "no learned matcher configured"
            else:
                m = spec if isinstance(spec, PolicyMatcher) else PolicyMatcher.load(None if spec == "default" else spec)
                from ..encoders import base_encoder
                from ..encoders.onnx_minilm import DEFAULT_NAME

                if m.dim == self.encoder.dim and m.encoder == self.encoder.name:
                    self._matcher, self._matcher_encoder = m, self.encoder
                elif m.encoder == DEFAULT_NAME and m.dim == base_encoder().dim:
                    # trained on the base MiniLM (the packaged matcher: the fine-tuned guard encoder matches
                    # policies to steps worse, dev F1 0.75 vs 0.92): policy/step texts get their own pass
                    self._matcher, self._matcher_encoder = m, MemoEncoder(base_encoder(), 4096)
                else:
                    self._matcher_note = (f"matcher trained on {m.encoder} ({m.dim}-d) but the guard encodes with "
                                          f"{self.encoder.name} ({self.encoder.dim}-d): learned matcher disabled")
        return self._matcher

    @property
    def trajectory_head(self) -> TrajectoryHead | None:
        if not self._head_loaded:
            self._head_loaded = True
            spec = self._head_spec
            if spec == "default":
                text = self.guard.attachments.get(FILENAME)
                spec = TrajectoryHead.from_json(text) if text is not None else None
                if spec is None:
                    self.head_note = "the model has no trajectory head"
            elif spec is None:
                self.head_note = "no trajectory head configured"
            if spec is not None:
                h = spec if isinstance(spec, TrajectoryHead) else TrajectoryHead.load(spec)
                fp = self.guard.weights_fingerprint
                if h.model_fingerprint != fp:
                    self.head_note = (f"trajectory head fitted for model {h.model_fingerprint}, this guard is {fp}: "
                                      "disabled (refit: python -m routeguard.agent.train_trajectory --model ...)")
                else:
                    self._head = h
        return self._head

    # -- the injection scorer --------------------------------------------------------------------
    def _injection_scorer(self) -> tuple[str, str, float]:
        pol = self.guard.policy.for_target("trajectory")     # tool results are judged as trajectory text
        if "attack" in self.guard.experts and "prompt_attack" in self.guard.experts["attack"].outputs:
            t = pol.threshold("prompt_attack")
            return "attack", "prompt_attack", self.injection_threshold if self.injection_threshold is not None else t
        t = pol.unsafe_threshold
        return "general", "unsafe", self.injection_threshold if self.injection_threshold is not None else t

    def check_parts(self, convs: list[Conversation]) -> list[Any]:
        """The underlying guard's batched verdicts (Verdict or BatchItemError) on parts of a run, each
        judged as its own target, under this agent guard's encoder and policy."""
        return self._g.check_batch(convs)

    def injections(self, messages: Sequence[Message], start: int = 0) -> InjectionReport:
        """Score every tool result (index >= start) on its own; report the first at or above threshold."""
        name, out, thr = self._injection_scorer()
        idx = [i for i, m in enumerate(messages) if m.role == "tool" and m.content.strip() and i >= start]
        rep = InjectionReport(scorer=name, threshold=thr, flagged=False)
        if not idx:
            return rep
        with self._inj_lock:
            known = {i: self._inj_cache.get((name, messages[i].content)) for i in idx}
        todo = [i for i in idx if known[i] is None]
        if todo:
            convs = [Conversation(messages=[Message(role="tool", content=messages[i].content)], target="trajectory")
                     for i in todo]
            try:
                batch = encode_conversations(self.encoder, convs)
                expert = self.guard.experts[name]
                probs = expert.score(batch, np.arange(len(convs)))[:, list(expert.outputs).index(out)]
            except Exception as e:  # noqa: BLE001 - an expert failure is reported, and fails closed below
                rep.error = f"{type(e).__name__}: {e}"
                rep.flagged = self.guard.policy.on_error == "block"
                return rep
            with self._inj_lock:
                for i, p in zip(todo, probs):
                    known[i] = float(p)
                    self._inj_cache[(name, messages[i].content)] = float(p)
                while len(self._inj_cache) > 4096:
                    self._inj_cache.popitem(last=False)
        probs = [known[i] for i in idx]
        rep.steps = [InjectionStep(step=i, score=round(float(p), 4), flagged=bool(p >= thr)) for i, p in zip(idx, probs)]
        first = next((s for s in rep.steps if s.flagged), None)
        rep.flagged, rep.step = first is not None, (first.step if first else None)
        return rep

    # -- policies --------------------------------------------------------------------------------
    def _matcher_scores(self, policies: list[str], msgs: Sequence[Message], steps: list[int]) -> np.ndarray | None:
        m = self.matcher
        if m is None or not policies or not steps:
            return None
        texts = [step_text(msgs[i])[:STEP_CHARS] for i in steps]
        obs = [last_observation(list(msgs), i) for i in steps]
        uniq = list(dict.fromkeys(policies + texts + [o for o in obs if o]))
        enc = self._matcher_encoder
        vecs = dict(zip(uniq, enc.encode(uniq)))
        zero = np.zeros(enc.dim, np.float32)
        S = np.stack([vecs[t] for t in texts])
        O = np.stack([vecs[o] if o else zero for o in obs])
        out = np.zeros((len(policies), len(steps)), np.float32)
        for k, p in enumerate(policies):
            P = np.repeat(vecs[p][None, :], len(steps), axis=0)
            out[k] = m.score(P, S, O)
        return out

    def check_policies(self, messages: Sequence[Message], policies: Sequence[str], start: int = 0) -> list[PolicyResult]:
        """Judge each policy on the assistant messages with index >= ``start`` (earlier ones are context)."""
        msgs = list(messages)
        pols = [self._check_policy_text(p) for p in policies]
        steps = [i for i in range(start, len(msgs)) if is_action(msgs[i])]
        scores = self._matcher_scores(pols, msgs, steps)
        views = views_of(msgs)
        m = self.matcher
        out = []
        for k, text in enumerate(pols):
            parsed = parse_policy(text)
            rules = [r.describe() for r in parsed.rules]
            sc = scores[k] if scores is not None else None
            best = int(np.argmax(sc)) if sc is not None and len(sc) else None
            hit = parsed.check(msgs, start, views)
            if hit is not None:
                rule, viol = hit
                s = float(sc[steps.index(viol.step)]) if sc is not None and viol.step in steps else None
                out.append(PolicyResult(policy=text, violated=True, step=viol.step, message=_msg_dict(msgs[viol.step]),
                                        score=s, checker="rule", rule=rule.describe(), rules=rules,
                                        complete=parsed.complete, reason=f"rule [{rule.describe()}]: {viol.detail}"))
            elif parsed.complete:
                out.append(PolicyResult(policy=text, violated=False, checker="rule", rules=rules, complete=True,
                                        score=float(sc[best]) if best is not None else None,
                                        reason="every rule of the policy is satisfied"))
            elif m is not None:
                if best is None:
                    out.append(PolicyResult(policy=text, violated=False, checker="learned", rules=rules,
                                            reason="no agent action to judge"))
                    continue
                s, i = float(sc[best]), steps[best]
                viol = s >= m.threshold
                out.append(PolicyResult(policy=text, violated=viol, step=i if viol else None,
                                        message=_msg_dict(msgs[i]) if viol else None, score=s, checker="learned",
                                        rules=rules, complete=False,
                                        reason=(f"matcher P(violation)={s:.2f} >= {m.threshold:.2f} at step {i}" if viol
                                                else f"matcher: highest P(violation)={s:.2f} < {m.threshold:.2f}")
                                        + ("" if not rules else "; no parsed rule was broken")))
            else:
                out.append(PolicyResult(policy=text, violated=None, checker="none", rules=rules,
                                        reason="no complete rule and no learned matcher: "
                                               + (self._matcher_note or "undecidable")))
        return out

    # -- public API ------------------------------------------------------------------------------
    def check(self, trajectory: Any, policies: Sequence[str] | None = None, *, injection: bool = True) -> AgentVerdict:
        """Judge a whole trajectory: the RouteGuard verdict, each policy, and injected tool results."""
        t0 = time.perf_counter()
        conv = load_trajectory(trajectory)
        head = self.trajectory_head
        traj = None
        if head is not None:
            X, full = trajectory_features(self, [conv.messages])
            verdict = full[0]
            if not hasattr(verdict, "unsafe_score"):          # cannot happen for a validated trajectory
                raise InputError(getattr(verdict, "error", "invalid trajectory"))
            p = float(head.score(X)[0])
            traj = TrajectoryScore(score=round(p, 4), threshold=head.threshold, flagged=p >= head.threshold,
                                   features={f: round(float(v), 4) for f, v in zip(FEATURES, X[0])},
                                   drivers=[f for f, _ in head.explain(X[0])])
        else:
            verdict = self._g.check(self.judged(conv.messages))
        pols = self.check_policies(conv.messages, self._policies(policies))
        inj = self.injections(conv.messages) if injection else None
        return self._combine(verdict, pols, inj, t0, traj)

    def judged(self, messages: Sequence[Message]) -> Conversation:
        """The conversation the guard's verdict is computed on (see ``view``)."""
        msgs = list(messages)
        if self.view == "agent":
            agent = [m for m in msgs if m.role in ("assistant", "tool") and (m.content.strip() or m.tool_calls)]
            msgs = agent or msgs
        return Conversation(messages=msgs, target="trajectory")

    def _combine(self, verdict, pols: list[PolicyResult], inj: InjectionReport | None, t0: float,
                 traj: TrajectoryScore | None = None) -> AgentVerdict:
        fail_closed = self.guard.policy.on_error == "block"
        unknown = [p for p in pols if p.violated is None]
        violated = [p for p in pols if p.violated]
        degraded = verdict.degraded or bool(unknown) or bool(inj and inj.error)
        if traj is None:
            unsafe = verdict.flagged
            parts = [verdict.reason]
        else:        # the head decides; a degraded guard verdict still fails closed
            unsafe = traj.flagged or (verdict.degraded and fail_closed)
            parts = [f"trajectory head: {'unsafe' if traj.flagged else 'safe'} run, P={traj.score:.2f} "
                     f"({'>=' if traj.flagged else '<'} {traj.threshold:.2f})"
                     + (f", driven by {', '.join(traj.drivers)}" if traj.flagged and traj.drivers else "")]
            if verdict.flagged_categories:
                parts.append("whole-run categories: " + ", ".join(verdict.flagged_categories))
            if verdict.degraded:
                parts.append(verdict.reason)
        flagged = unsafe or bool(violated) or (bool(unknown) and fail_closed)
        for p in violated:
            parts.append(f"policy violated at step {p.step} ({p.checker}): {p.policy!r}")
        for p in unknown:
            parts.append(f"policy undecidable{' (blocked: fail-closed)' if fail_closed else ''}: {p.policy!r}")
        if inj and inj.flagged and inj.step is not None:
            parts.append(f"prompt injection enters at step {inj.step} ({inj.scorer} expert)")
        return AgentVerdict(flagged=flagged, verdict=verdict, policies=pols, injection=inj, degraded=degraded,
                            trajectory=traj, reason="; ".join(x for x in parts if x),
                            latency_ms=(time.perf_counter() - t0) * 1000)

    def _history(self, history: Any) -> list[Message]:
        if history is None or (isinstance(history, list) and not history):
            return []
        return list(load_trajectory(history).messages)

    def prefetch(self, history: Any) -> None:
        """Encode what the next :meth:`check_step` on this history will need (call when a tool result arrives)."""
        hist = self._history(history)
        if not hist:
            return
        ctx = render(judged(hist))[-CONTEXT_CHARS:]        # the context the step will be judged with
        texts = [ctx] if ctx else []
        for m in hist[-4:]:
            if m.role == "tool" and m.content.strip():
                texts.extend(self.encoder.chunk(f"Tool: {m.content}"))
                texts.append(m.content[-300:])
        texts.extend(self.policies)
        if texts:
            self.encoder.encode(texts)
        if self.matcher is not None and self._matcher_encoder is not self.encoder:
            # a matcher on its own encoder (the packaged one reads base MiniLM) reads the policies and the
            # last tool result through it: encode those now too, or every check_step pays for them
            obs = last_observation(hist, len(hist))
            self._matcher_encoder.encode(self.policies + ([obs] if obs else []))

    def check_step(self, history: Any, proposed_step: Any, policies: Sequence[str] | None = None) -> StepDecision:
        """Before the agent executes ``proposed_step`` (an assistant message with tool calls): allow or block.

        The step is judged by the guard as a response with the history as context; each policy is checked
        on the proposed step (the history is read for confirmations, order and counts); tool results of
        the history are scored for prompt injection (memoised: each is encoded once)."""
        t0 = time.perf_counter()
        hist = self._history(history)
        step = as_message(proposed_step)
        msgs = hist + [step]
        verdict = self._g.check(Conversation(messages=msgs, target="response"))
        pols = self.check_policies(msgs, self._policies(policies), start=len(hist))
        inj = self.injections(hist) if any(m.role == "tool" for m in hist) else None
        reasons, warnings = [], []
        if verdict.flagged:
            reasons.append(verdict.reason)
        for p in pols:
            if p.violated:
                reasons.append(f"violates {p.policy!r} ({p.checker}: {p.reason})")
            elif p.violated is None and self.guard.policy.on_error == "block":
                reasons.append(f"cannot decide policy {p.policy!r} (fail-closed): {p.reason}")
        if inj is not None and inj.flagged:
            msg = f"possible prompt injection in the tool result at step {inj.step} ({inj.scorer} expert)"
            (reasons if self.block_on_injection else warnings).append(msg)
        return StepDecision(action="block" if reasons else "allow", reasons=reasons, step=len(hist),
                            unsafe_score=verdict.unsafe_score, verdict=verdict, policies=pols, injection=inj,
                            warnings=warnings, latency_ms=(time.perf_counter() - t0) * 1000)

    def check_prefixes(self, trajectory: Any) -> PrefixReport:
        """Score every prefix ending in an agent action or a tool result (one batched guard pass), with the
        trajectory head when one is loaded (else the whole-prefix verdict)."""
        t0 = time.perf_counter()
        conv = load_trajectory(trajectory)
        msgs = conv.messages
        ends = [i for i, m in enumerate(msgs) if m.role in ("assistant", "tool")
                and any(x.content.strip() or x.tool_calls for x in msgs[:i + 1])]
        head = self.trajectory_head
        prefixes = []
        if head is not None and ends:        # the same decision as check(), on every prefix
            X, res = trajectory_features(self, [msgs[:i + 1] for i in ends])
            for i, p, v in zip(ends, head.score(X), res):
                ok = hasattr(v, "unsafe_score")
                fail = not ok or (v.degraded and self.guard.policy.on_error == "block")
                prefixes.append(PrefixScore(step=i, role=msgs[i].role, flagged=bool(p >= head.threshold) or fail,
                                            unsafe_score=float(p) if ok else 1.0,
                                            categories=v.flagged_categories if ok else []))
        else:
            convs = [Conversation(messages=msgs[:i + 1], target="trajectory") for i in ends]
            for i, v in zip(ends, self._g.check_batch(convs) if convs else []):
                if hasattr(v, "unsafe_score"):
                    prefixes.append(PrefixScore(step=i, role=msgs[i].role, flagged=v.flagged,
                                                unsafe_score=v.unsafe_score, categories=v.flagged_categories))
                else:                                        # BatchItemError: fail closed
                    prefixes.append(PrefixScore(step=i, role=msgs[i].role, flagged=True, unsafe_score=1.0))
        first = next((p.step for p in prefixes if p.flagged), None)
        return PrefixReport(n_messages=len(msgs), prefixes=prefixes, earliest_flagged_step=first,
                            latency_ms=(time.perf_counter() - t0) * 1000)
