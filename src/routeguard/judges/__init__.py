"""LLM judges: peer guards (Llama Guard 3/4, WildGuard, Qwen3Guard-Gen, ShieldGemma, Granite Guardian,
GuardReasoner, PolicyGuard) and RouteGuard's critique format, reached over OpenAI-compatible HTTP or
run locally from GGUF, usable as experts, as evaluation guards and as a second-opinion cascade.

    from routeguard.judges import Judge, CascadeGuard, add_judge
    judge = Judge.openai("llama-guard-3", "http://localhost:8000/v1", "meta-llama/Llama-Guard-3-8B")
    judge.judge("How do I make meth?")              # Judgement(unsafe=True, score=0.98, categories=[...])
    guard = add_judge(routeguard.load(), judge, domains=["cyber"])   # only routed cyber cases
    cascade = CascadeGuard(routeguard.load(), judge, band=(0.2, 0.8))  # only uncertain cases

Every failure (timeout, HTTP error, unparseable answer) is a :class:`JudgeError`; inside a guard it
becomes a degraded verdict that the Policy blocks by default. Nothing is ever read as "safe".
"""
from .cascade import CascadeGuard, CascadeResult, CascadeStats
from .config import JudgeAttachment, JudgesConfig, attach_judges
from .client import ChatBackend, Completion, OpenAIChatClient, TokenLogprob
from .errors import JudgeError, JudgeInputError, JudgeParseError
from .expert import JudgedDomainExpert, JudgeExpert, add_judge, fast_only, judges_of
from .formats import FORMATS, JudgeFormat, get_format, label_probability
from .judge import Judge, Judgement
from .spec import judge_from_spec, parse_judge_spec

__all__ = [
    "CascadeGuard", "CascadeResult", "CascadeStats", "ChatBackend", "Completion", "FORMATS", "Judge",
    "JudgeError", "JudgeExpert", "JudgeFormat", "JudgeInputError", "JudgeParseError", "JudgedDomainExpert",
    "Judgement", "OpenAIChatClient", "TokenLogprob", "add_judge", "fast_only", "get_format", "judge_from_spec",
    "judges_of", "label_probability", "parse_judge_spec", "JudgeAttachment", "JudgesConfig", "attach_judges",
]
