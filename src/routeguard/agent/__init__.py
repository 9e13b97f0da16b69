"""Agent guard (PolicyGuard): trajectories, operator policies, indirect prompt injection, early warnings.

    import routeguard
    from routeguard.agent import AgentGuard

    ag = AgentGuard(routeguard.load())
    v = ag.check(messages, policies=["Never delete files without asking the user"])
    d = ag.check_step(history, proposed_assistant_message)        # before each tool call
    r = ag.check_prefixes(messages)                                 # earliest flagged step

See :mod:`routeguard.agent.rules` (deterministic policy checks), :mod:`routeguard.agent.matcher` (the
learned (policy, step) matcher), :mod:`routeguard.agent.trajectory_head` (the calibrated whole-run
decision) and :mod:`routeguard.agent.prefix` (prefix-mode metrics).
"""
from .guard import AgentGuard, MemoEncoder
from .matcher import PolicyMatcher
from .prefix import FRACTIONS, prefix_metrics, warning_actions
from .results import (AgentVerdict, InjectionReport, InjectionStep, PolicyResult, PrefixReport, PrefixScore,
                      StepDecision, TrajectoryScore)
from .rules import ParsedPolicy, parse_policy
from .trajectory import load_trajectory
from .trajectory_head import TrajectoryHead

__all__ = ["AgentGuard", "AgentVerdict", "FRACTIONS", "InjectionReport", "InjectionStep", "MemoEncoder",
           "ParsedPolicy", "PolicyMatcher", "PolicyResult", "PrefixReport", "PrefixScore", "StepDecision",
           "TrajectoryHead", "TrajectoryScore", "load_trajectory", "parse_policy", "prefix_metrics", "warning_actions"]
