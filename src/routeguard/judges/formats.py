"""Guard output formats: versioned prompt templates, strict parsers, and mappings to our taxonomy.

Each :class:`JudgeFormat` turns a :class:`~routeguard.types.Conversation` into one or more chat
requests (one per policy for ShieldGemma / Granite Guardian / PolicyGuard with several policies), parses
each answer *strictly* (anything unexpected raises :class:`JudgeParseError`; nothing is read as
"safe" by default), and says where the decisive label sits in the answer so that its probability can
be read from the log-probabilities of the label token.

Templates are package data: ``routeguard/judges/templates/<name>.v<version>.txt`` (``string.Template``
syntax). A format's ``template_version`` picks the file; bumping a prompt means a new file.
"""
from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar

from ..errors import ConfigError
from ..taxonomy import ALL_CATEGORIES, CATEGORIES, CATEGORY_INFO, LLAMA_GUARD, LLAMA_GUARD_NAMES
from ..types import Conversation, Message, render
from .client import TokenLogprob
from .errors import JudgeInputError, JudgeParseError

__all__ = [
    "FORMATS", "GRANITE_RISKS", "GuardReasonerFormat", "GraniteGuardianFormat", "JudgeFormat", "JudgedParts",
    "LlamaGuard3Format", "LlamaGuard4Format", "Parsed", "PolicyGuardFormat", "QWEN3GUARD", "Qwen3GuardFormat",
    "Request", "RouteGuardCritiqueFormat", "SHIELDGEMMA_POLICIES", "ShieldGemmaFormat", "WildGuardFormat",
    "get_format", "judged_parts", "label_probability", "load_template",
]


# --- templates -------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def load_template(name: str, version: int) -> string.Template:
    """The packaged template ``templates/<name>.v<version>.txt``."""
    fname = f"{name}.v{version}.txt"
    try:
        text = (resources.files("routeguard.judges") / "templates" / fname).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no judge prompt template {fname!r} in routeguard/judges/templates") from None
    return string.Template(text)


# --- what the judge is asked about -----------------------------------------------------------------

@dataclass
class JudgedParts:
    """The parts of a conversation a judge prompt needs."""

    target: str                 # prompt / response / conversation / trajectory
    messages: list[Message]     # the conversation up to and including the judged message
    prompt: str                 # the (last) user request, or the transcript before the judged turn
    response: str | None        # the judged assistant turn, if any
    judged: str                 # the text being judged (focus)
    agent_type: str             # "User" or "Agent" (Llama Guard's $agent_type)


def judged_parts(conv: Conversation) -> JudgedParts:
    t = conv.resolved_target
    msgs = conv.messages
    if t in ("prompt", "response"):
        role = "user" if t == "prompt" else "assistant"
        idx = max(i for i, m in enumerate(msgs) if m.role == role)   # focus_and_context validated it
        upto = msgs[:idx + 1]
        if t == "prompt":
            return JudgedParts(t, upto, msgs[idx].text(), None, msgs[idx].text(), "User")
        before = [m for m in msgs[:idx] if m.role == "user"]
        prompt = before[-1].text() if before else render(msgs[:idx])
        return JudgedParts(t, upto, prompt, msgs[idx].text(), msgs[idx].text(), "Agent")
    if msgs[-1].role == "assistant":
        return JudgedParts(t, list(msgs), render(msgs[:-1]), msgs[-1].text(), render(msgs), "Agent")
    agent = any(m.role == "assistant" for m in msgs)
    return JudgedParts(t, list(msgs), render(msgs), None, render(msgs), "Agent" if agent else "User")


def _transcript(msgs: list[Message], names: dict[str, str], sep: str = "\n\n") -> str:
    out = []
    for m in msgs:
        text = m.text()
        if not text or m.role not in names:
            continue
        prefix = "[tool result] " if m.role == "tool" else ""
        out.append(f"{names[m.role]}: {prefix}{text}")
    return sep.join(out)


LG_NAMES = {"user": "User", "assistant": "Agent", "tool": "User"}


# --- requests, parses, scores ----------------------------------------------------------------------

@dataclass
class Request:
    messages: list[dict[str, Any]]
    key: str | None = None          # the policy / risk this request asks about (per-policy formats)


@dataclass
class Parsed:
    """One strictly parsed answer."""

    unsafe: bool
    label: str                              # the decisive native label, as written
    label_offset: int | None                # where it starts in the answer text
    positive: tuple[str, ...]               # label words meaning unsafe (for log-prob scoring)
    negative: tuple[str, ...]               # label words meaning safe
    native_categories: list[str] = field(default_factory=list)
    rationale: str | None = None
    evidence: str | None = None
    refusal: bool | None = None
    fixed_score: float | None = None        # a label that maps to a score other than 0/1


def _norm_token(tok: str) -> str:
    return tok.strip().strip("\"'`<>:").lower()


def label_probability(tokens: list[TokenLogprob] | None, text: str, offset: int | None,
                      positive: tuple[str, ...], negative: tuple[str, ...]) -> float | None:
    """P(positive label) at the label token, renormalised over the positive and negative labels.

    Finds the generated token covering ``offset`` in ``text`` (the first non-blank one from there),
    and sums the probabilities of that token's alternatives that start the positive (resp. negative)
    label words. None when the log-probabilities do not cover the label (the caller then uses 0/1)."""
    if not tokens or offset is None:
        return None
    joined = "".join(t.token for t in tokens)
    shift = 0
    if joined != text:
        shift = joined.find(text) if text else -1
        if shift < 0:
            stripped = text.lstrip()
            shift = joined.find(stripped)
            if shift < 0:
                return None
            shift -= len(text) - len(stripped)
    pos_char = offset + shift
    start = 0
    idx = None
    for i, t in enumerate(tokens):
        end = start + len(t.token)
        if end > pos_char and t.token.strip():
            idx = i
            break
        start = end
    if idx is None:
        return None
    tok = tokens[idx]
    cands = dict(tok.top)
    cands.setdefault(tok.token, tok.logprob)
    pos = neg = 0.0
    pos_l = tuple(p.lower() for p in positive)
    neg_l = tuple(n.lower() for n in negative)
    for t, lp in cands.items():
        n = _norm_token(t)
        if not n:
            continue
        is_pos = any(p.startswith(n) for p in pos_l)
        is_neg = any(q.startswith(n) for q in neg_l)
        if is_pos == is_neg:
            continue                                    # not a label, or ambiguous ("n" of no / no violation)
        p = math.exp(max(lp, -100.0))
        if is_pos:
            pos += p
        else:
            neg += p
    if pos + neg <= 0.0:
        return None
    return pos / (pos + neg)


class JudgeFormat:
    """Base class of a guard output format.

    Subclasses set ``name``, ``template``, ``template_version``, ``max_tokens`` and ``mappable`` (our
    categories it can report), and implement :meth:`requests` and :meth:`parse`.
    ``native`` prompt mode sends the conversation as chat messages and relies on the *server's* chat
    template to build the guard prompt (vLLM / Ollama serving the guard with its own template); only
    formats with ``native_ok`` support it.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    template: ClassVar[str]
    template_version: ClassVar[int] = 1
    max_tokens: ClassVar[int] = 32
    native_ok: ClassVar[bool] = False
    mappable: tuple[str, ...] = ()

    def __init__(self, prompt_mode: str = "template") -> None:
        if prompt_mode not in ("template", "native"):
            raise ConfigError(f"prompt_mode must be 'template' or 'native', not {prompt_mode!r}")
        if prompt_mode == "native" and not self.native_ok:
            raise ConfigError(f"format {self.name!r} has no native chat template mode; use prompt_mode='template'")
        self.prompt_mode = prompt_mode

    @property
    def template_id(self) -> str:
        return f"{self.template}.v{self.template_version}"

    def info(self) -> dict[str, Any]:
        return {"format": self.name, "template": self.template_id, "prompt_mode": self.prompt_mode,
                "categories": list(self.mappable)}

    # -- to implement ----------------------------------------------------------------------------
    def requests(self, conv: Conversation) -> list[Request]:  # pragma: no cover - interface
        raise NotImplementedError

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:  # pragma: no cover
        raise NotImplementedError

    def categories_for(self, parsed: Parsed, key: str | None) -> list[str]:
        """Our category ids for a parsed unsafe answer (default: none; the judge is binary)."""
        return []

    # -- helpers ---------------------------------------------------------------------------------
    def _render(self, **values: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": load_template(self.template, self.template_version).substitute(values)}]

    def _native(self, parts: JudgedParts) -> list[dict[str, Any]]:
        out = []
        for m in parts.messages:
            if m.role == "system" or not m.text():
                continue
            if m.role == "tool":
                out.append({"role": "user", "content": "[tool result] " + m.text()})
            else:
                out.append({"role": m.role, "content": m.text()})
        return out

    def _fail(self, reason: str, text: str) -> JudgeParseError:
        return JudgeParseError(self.name, reason, text)


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.strip().splitlines() if ln.strip()]


# --- Llama Guard 3 / 4 -----------------------------------------------------------------------------

class LlamaGuard3Format(JudgeFormat):
    """Llama Guard 3: ``safe`` or ``unsafe\\nS1,S3``; P(unsafe) from the first label token."""

    name = "llama-guard-3"
    aliases = ("llama-guard", "llamaguard3", "lg3")
    template = "llama_guard_3"
    max_tokens = 20
    native_ok = True
    mappable = tuple(c for c in CATEGORIES if any(c in v for v in LLAMA_GUARD.values()))
    codes: ClassVar[tuple[str, ...]] = tuple(LLAMA_GUARD)

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        if self.prompt_mode == "native":
            return [Request(self._native(parts))]
        cats = "\n".join(f"{c}: {LLAMA_GUARD_NAMES[c]}." for c in self.codes)
        return [Request(self._render(agent_type=parts.agent_type, categories=cats,
                                     conversation=_transcript(parts.messages, LG_NAMES)))]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        lines = _lines(text)
        if not lines:
            raise self._fail("empty answer", text)
        first = lines[0].lower()
        off = text.lower().find(first)
        if first == "safe":
            if len(lines) > 1:
                raise self._fail("'safe' followed by more lines", text)
            return Parsed(False, "safe", off, ("unsafe",), ("safe",))
        if first != "unsafe":
            raise self._fail("first line must be 'safe' or 'unsafe'", text)
        if len(lines) > 2:
            raise self._fail("more than two lines", text)
        codes: list[str] = []
        if len(lines) == 2:
            for c in lines[1].split(","):
                c = c.strip().upper()
                if c not in self.codes:
                    raise self._fail(f"unknown category code {c!r}", text)
                codes.append(c)
        return Parsed(True, "unsafe", off, ("unsafe",), ("safe",), native_categories=codes)

    def categories_for(self, parsed: Parsed, key: str | None) -> list[str]:
        return sorted({c for code in parsed.native_categories for c in LLAMA_GUARD[code]})


class LlamaGuard4Format(LlamaGuard3Format):
    """Llama Guard 4: same contract and hazard codes as Llama Guard 3, its own prompt wording."""

    name = "llama-guard-4"
    aliases = ("llamaguard4", "lg4")
    template = "llama_guard_4"


# --- WildGuard -------------------------------------------------------------------------------------

class WildGuardFormat(JudgeFormat):
    """WildGuard: ``Harmful request: yes/no``, ``Response refusal: yes/no/n/a``, ``Harmful response:
    yes/no/n/a`` (``None`` accepted for n/a). Decisive line: the request for prompts, else the response."""

    name = "wildguard"
    template = "wildguard"
    max_tokens = 32
    KEYS: ClassVar[tuple[str, ...]] = ("harmful request", "response refusal", "harmful response")
    NA: ClassVar[frozenset[str]] = frozenset({"n/a", "na", "none"})

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        return [Request(self._render(prompt=parts.prompt, response=parts.response or ""))]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        lines = _lines(text)
        if len(lines) != 3:
            raise self._fail(f"expected 3 lines, got {len(lines)}", text)
        vals: dict[str, str] = {}
        for want, ln in zip(self.KEYS, lines):
            k, sep, v = ln.partition(":")
            if not sep or k.strip().lower() != want:
                raise self._fail(f"expected a line '{want.capitalize()}: ...'", text)
            v = v.strip().lower()
            allowed = {"yes", "no"} | (set() if want == "harmful request" else set(self.NA))
            if v not in allowed:
                raise self._fail(f"'{want}' must be one of {sorted(allowed)}, got {v!r}", text)
            vals[want] = v
        decisive = "harmful response" if parts.response is not None else "harmful request"
        if vals[decisive] in self.NA:
            raise self._fail(f"'{decisive}' is n/a but a response was judged", text)
        line_start = text.lower().find(decisive)
        off = text.lower().find(vals[decisive], text.find(":", line_start) + 1)
        refusal = None if vals["response refusal"] in self.NA else vals["response refusal"] == "yes"
        return Parsed(vals[decisive] == "yes", vals[decisive], off, ("yes",), ("no",), refusal=refusal)


# --- Qwen3Guard-Gen --------------------------------------------------------------------------------

#: Qwen3Guard-Gen categories -> ours ("Jailbreak" maps to the expansion category only).
QWEN3GUARD: dict[str, tuple[str, ...]] = {
    "Violent": ("weapons_drugs_physical_harm",),
    "Non-violent Illegal Acts": ("unethical_nonviolent",),
    "Sexual Content or Sexual Acts": ("sexual_content",),
    "PII": ("sensitive_information",),
    "Suicide & Self-Harm": ("self_harm",),
    "Unethical Acts": ("unethical_nonviolent",),
    "Politically Sensitive Topics": ("controversial_politics",),
    "Copyright Violation": ("copyright",),
    "Jailbreak": ("prompt_attack",),
}


class Qwen3GuardFormat(JudgeFormat):
    """Qwen3Guard-Gen: ``Safety: Safe|Unsafe|Controversial`` / ``Categories: ...|None`` (+ ``Refusal:
    Yes|No`` for responses). ``controversial``: ``"unsafe"`` (strict, default) or ``"safe"`` (loose)."""

    name = "qwen3guard-gen"
    aliases = ("qwen3guard",)
    template = "qwen3guard_gen"
    max_tokens = 64
    native_ok = True
    mappable = tuple(c for c in CATEGORIES if any(c in v for v in QWEN3GUARD.values()))

    def __init__(self, prompt_mode: str = "template", controversial: str = "unsafe") -> None:
        super().__init__(prompt_mode)
        if controversial not in ("unsafe", "safe"):
            raise ConfigError(f"controversial must be 'unsafe' or 'safe', not {controversial!r}")
        self.controversial = controversial
        self._lower = {k.lower(): k for k in QWEN3GUARD}

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        if self.prompt_mode == "native":
            return [Request(self._native(parts))]
        resp = parts.response is not None
        names = {"user": "USER", "assistant": "ASSISTANT", "tool": "USER"}
        return [Request(self._render(
            role_upper="ASSISTANT" if resp else "USER", role_lower="assistant" if resp else "user",
            item="response" if resp else "query", categories="\n".join(f"{k}." for k in QWEN3GUARD) + "\nNone.",
            conversation=_transcript(parts.messages, names),
            refusal_task="\n3) Determine if THE LAST ASSISTANT's response is a refusal to the USER's query." if resp else "",
            refusal_line="\n - The third line must start with 'Refusal:' followed by 'Yes' or 'No'." if resp else ""))]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        lines = _lines(text)
        resp = parts.response is not None
        if len(lines) not in ((2, 3) if resp else (2,)):
            raise self._fail(f"expected {'2-3' if resp else '2'} lines, got {len(lines)}", text)
        k, sep, label = lines[0].partition(":")
        if k.strip().lower() != "safety" or not sep:
            raise self._fail("first line must be 'Safety: ...'", text)
        label = label.strip()
        if label.lower() not in ("safe", "unsafe", "controversial"):
            raise self._fail(f"unknown safety label {label!r}", text)
        k, sep, cats = lines[1].partition(":")
        if k.strip().lower() != "categories" or not sep:
            raise self._fail("second line must be 'Categories: ...'", text)
        native = []
        for c in cats.split(","):
            c = c.strip().rstrip(".")
            if not c or c.lower() == "none":
                continue
            if c.lower() not in self._lower:
                raise self._fail(f"unknown category {c!r}", text)
            native.append(self._lower[c.lower()])
        refusal = None
        if len(lines) == 3:
            k, sep, v = lines[2].partition(":")
            if k.strip().lower() != "refusal" or v.strip().lower() not in ("yes", "no"):
                raise self._fail("third line must be 'Refusal: Yes|No'", text)
            refusal = v.strip().lower() == "yes"
        low = label.lower()
        off = text.find(label, text.find(":") + 1)
        strict = self.controversial == "unsafe"
        pos = ("unsafe", "controversial") if strict else ("unsafe",)
        neg = ("safe",) if strict else ("safe", "controversial")
        unsafe = low == "unsafe" or (low == "controversial" and strict)
        return Parsed(unsafe, label, off, pos, neg, native_categories=native, refusal=refusal)

    def categories_for(self, parsed: Parsed, key: str | None) -> list[str]:
        return sorted({c for n in parsed.native_categories for c in QWEN3GUARD[n] if c in CATEGORIES})


# --- per-policy formats: ShieldGemma, Granite Guardian, PolicyGuard --------------------------------

class _PerPolicy(JudgeFormat):
    """One request per policy; unsafe if any policy is violated; P(unsafe) = max over policies."""

    default_policies: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {}

    def __init__(self, prompt_mode: str = "template",
                 policies: dict[str, tuple[str, tuple[str, ...]]] | list[str] | None = None) -> None:
        super().__init__(prompt_mode)
        if policies is None:
            policies = dict(self.default_policies)
        elif isinstance(policies, list):
            unknown = [p for p in policies if p not in self.default_policies]
            if unknown:
                raise ConfigError(f"{self.name}: unknown policies {unknown}; known: {', '.join(self.default_policies)} "
                                  "(or pass {key: (policy text, (category ids...))})")
            policies = {p: self.default_policies[p] for p in policies}
        if not policies:
            raise ConfigError(f"{self.name}: at least one policy is needed")
        for k, (txt, cats) in policies.items():
            if not txt.strip():
                raise ConfigError(f"{self.name}: policy {k!r} has no text")
            bad = [c for c in cats if c not in ALL_CATEGORIES]
            if bad:
                raise ConfigError(f"{self.name}: policy {k!r} maps to unknown categories {bad}")
        self.policies = dict(policies)
        self.mappable = tuple(c for c in CATEGORIES if any(c in cats for _, cats in self.policies.values()))

    def info(self) -> dict[str, Any]:
        return {**super().info(), "policies": list(self.policies)}

    def categories_for(self, parsed: Parsed, key: str | None) -> list[str]:
        return [c for c in self.policies[key or ""][1] if c in CATEGORIES] if key in self.policies else []


#: ShieldGemma's published harm policies, and the categories of ours each one covers.
SHIELDGEMMA_POLICIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "dangerous": ('"No Dangerous Content": The prompt shall not contain or seek generation of content that harms '
                  "oneself and/or others (e.g., accessing or building firearms and explosive devices, promotion of "
                  "terrorism, instructions for suicide).",
                  ("weapons_drugs_physical_harm", "terrorism_organized_crime", "self_harm")),
    "harassment": ('"No Harassment": The prompt shall not contain or seek generation of content that is malicious, '
                   "intimidating, bullying, or abusive content targeting another individual (e.g., physical threats, "
                   "denial of tragic events, disparaging victims of violence).", ("hate_harassment",)),
    "hate": ('"No Hate Speech": The prompt shall not contain or seek generation of content that targets identity '
             "and/or protected attributes (e.g., racial slurs, promotion of discrimination, calls to violence against "
             "protected groups) or dehumanizing/belittling/vilifying on the bases of race, ethnicity, religion, "
             "disability, age, nationality, veteran status, sexual orientation, gender, gender identity, caste, or any "
             "other protected status.", ("hate_harassment",)),
    "sexual": ('"No Sexually Explicit Information": The prompt shall not contain or seek generation of content that '
               "contains references to sexual acts or other lewd content (e.g., sexually graphic descriptions, "
               "content aimed at causing arousal). Medical or scientific terms related to human anatomy or sex "
               "education are permitted.", ("sexual_content",)),
}


def _yes_no_start(fmt: JudgeFormat, text: str) -> tuple[bool, str, int, str]:
    m = re.match(r"\s*(yes|no)\b[\s.,:;!]*", text, re.IGNORECASE)
    if not m:
        raise fmt._fail("answer must start with 'Yes' or 'No'", text)
    return m.group(1).lower() == "yes", m.group(1), m.start(1), text[m.end():].strip()


class ShieldGemmaFormat(_PerPolicy):
    """ShieldGemma: one call per policy; answer starts with ``Yes``/``No``; score = softmax over the
    Yes/No log-probabilities of the first token."""

    name = "shieldgemma"
    aliases = ("shield-gemma",)
    template = "shieldgemma"
    max_tokens = 16
    default_policies = SHIELDGEMMA_POLICIES

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        if parts.response is None:
            sub, short, turns = "a user prompt", "human question", f"Human Question: {parts.judged}"
        else:
            sub, short = "an AI response to prompt", "Chatbot Response"
            turns = (f"Human Question: {parts.prompt}\n<end_of_turn>\n\n<start_of_turn>\n"
                     f"Chatbot Response: {parts.response}")
        return [Request(self._render(subject=sub, short=short, turns=turns, policy=txt), key)
                for key, (txt, _) in self.policies.items()]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        yes, label, off, rest = _yes_no_start(self, text)
        return Parsed(yes, label, off, ("yes",), ("no",), native_categories=[key] if yes and key else [],
                      rationale=rest or None)


#: Granite Guardian risk definitions (criteria ids as in its chat template) -> our categories.
GRANITE_RISKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "harm": ("Content considered universally harmful.", ()),
    "social_bias": ("Systemic prejudice against groups based on shared identity or characteristics, often stemming "
                    "from stereotypes or cultural influences.", ("hate_harassment",)),
    "jailbreak": ("Deliberate circumvention of AI systems' built-in safeguards or ethical guidelines.", ("prompt_attack",)),
    "violence": ("Content promoting or describing physical harm to individuals or groups.",
                 ("weapons_drugs_physical_harm",)),
    "profanity": ("Use of language considered offensive or socially unacceptable in a given context.",
                  ("hate_harassment",)),
    "sexual_content": ("Material explicitly related to sexual activities, anatomy, or desires.", ("sexual_content",)),
    "unethical_behavior": ("Actions that violate moral or professional standards, focusing on exploitation for "
                           "personal gain or disregard for others' well-being.", ("unethical_nonviolent",)),
}


class GraniteGuardianFormat(_PerPolicy):
    """Granite Guardian 3.3+: ``<think>…</think><score> yes|no </score>`` (the think block is optional
    and becomes the rationale). One call per risk (default: ``harm``, binary)."""

    name = "granite-guardian"
    aliases = ("granite",)
    template = "granite_guardian"
    max_tokens = 512
    native_ok = True
    default_policies = {"harm": GRANITE_RISKS["harm"]}
    SCORE: ClassVar[re.Pattern[str]] = re.compile(r"<score>\s*(yes|no)\s*</score>", re.IGNORECASE)
    THINK: ClassVar[re.Pattern[str]] = re.compile(r"^\s*<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)

    def __init__(self, prompt_mode: str = "template", policies: Any = None) -> None:
        if isinstance(policies, list):
            unknown = [p for p in policies if p not in GRANITE_RISKS]
            if unknown:
                raise ConfigError(f"granite-guardian: unknown risks {unknown}; known: {', '.join(GRANITE_RISKS)}")
            policies = {p: GRANITE_RISKS[p] for p in policies}
        super().__init__(prompt_mode, policies)
        if prompt_mode == "native" and len(self.policies) != 1:
            raise ConfigError("granite-guardian native mode judges one risk per judge (set it in the server's "
                              "chat_template_kwargs); use template mode for several risks")

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        if self.prompt_mode == "native":
            return [Request(self._native(parts), next(iter(self.policies)))]
        subject = "last assistant message" if parts.response is not None else "last user message"
        names = {"user": "User Message", "assistant": "Assistant Message", "tool": "Tool Message"}
        convo = _transcript(parts.messages, names, sep="\n")
        return [Request(self._render(subject=subject, conversation=convo, definition=txt), key)
                for key, (txt, _) in self.policies.items()]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        matches = list(self.SCORE.finditer(text))
        if len(matches) != 1:
            raise self._fail("expected exactly one <score>yes|no</score>", text)
        m = matches[0]
        think = self.THINK.match(text)
        rest = (text[:m.start()] if not think else text[think.end():m.start()]).strip()
        if rest or text[m.end():].strip():
            raise self._fail("unexpected text outside <think> and <score>", text)
        yes = m.group(1).lower() == "yes"
        return Parsed(yes, m.group(1), m.start(1), ("yes",), ("no",),
                      native_categories=[key] if yes and key else [],
                      rationale=think.group(1).strip() if think else None)


#: The default PolicyGuard policy: our taxonomy as rules.
ROUTEGUARD_POLICY = "The agent must not produce, facilitate or carry out content or actions in any of these categories:\n" + \
    "\n".join(f"- {c}: {d}" for c, (d, _) in CATEGORY_INFO.items())


class PolicyGuardFormat(_PerPolicy):
    """PolicyGuard: ``violation`` / ``no violation`` for a (policy, trajectory) pair. Default policy:
    the RouteGuard taxonomy (binary); pass per-category policies to get categories."""

    name = "policyguard"
    aliases = ("policy-guard",)
    template = "policyguard"
    max_tokens = 8
    default_policies = {"routeguard": (ROUTEGUARD_POLICY, ())}

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        names = {"system": "System", "user": "User", "assistant": "Agent", "tool": "Tool"}
        convo = _transcript(parts.messages, names, sep="\n")
        return [Request(self._render(policy=txt, conversation=convo), key) for key, (txt, _) in self.policies.items()]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        lines = _lines(text)
        if len(lines) != 1:
            raise self._fail("expected exactly one line", text)
        v = lines[0].lower().rstrip(".")
        if v not in ("violation", "no violation"):
            raise self._fail("answer must be 'violation' or 'no violation'", text)
        off = text.lower().find(v)
        return Parsed(v == "violation", lines[0], off, ("violation",), ("no violation",),
                      native_categories=[key] if v == "violation" and key else [])


# --- GuardReasoner ---------------------------------------------------------------------------------

class GuardReasonerFormat(JudgeFormat):
    """GuardReasoner: reasoning steps, then ``Request: harmful|unharmful``, ``Completion:
    refusal|compliance``, ``Response: harmful|unharmful`` (``None`` where there is no response).
    The reasoning becomes the rationale."""

    name = "guardreasoner"
    aliases = ("guard-reasoner",)
    template = "guardreasoner"
    max_tokens = 1024
    ANSWER: ClassVar[re.Pattern[str]] = re.compile(
        r"^\s*(request|completion|response)\s*:\s*([A-Za-z/]+)\s*$", re.IGNORECASE | re.MULTILINE)
    ALLOWED: ClassVar[dict[str, set[str]]] = {"request": {"harmful", "unharmful"},
                                              "completion": {"refusal", "compliance", "none", "n/a"},
                                              "response": {"harmful", "unharmful", "none", "n/a"}}

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        return [Request(self._render(prompt=parts.prompt, response=parts.response or "None"))]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        found: dict[str, tuple[str, int]] = {}
        for m in self.ANSWER.finditer(text):
            found[m.group(1).lower()] = (m.group(2).lower(), m.start(2))      # the last occurrence wins
        for k in ("request", "completion", "response"):
            if k not in found:
                raise self._fail(f"no '{k.capitalize()}:' answer line", text)
            if found[k][0] not in self.ALLOWED[k]:
                raise self._fail(f"'{k}' must be one of {sorted(self.ALLOWED[k])}, got {found[k][0]!r}", text)
        decisive = "response" if parts.response is not None else "request"
        label, off = found[decisive]
        if label in ("none", "n/a"):
            raise self._fail("the response label is None but a response was judged", text)
        first = min(off for _, off in found.values())
        reasoning = text[:text.rfind("\n", 0, first) + 1].strip()
        reasoning = re.sub(r"\s*Answers?\s*:\s*$", "", reasoning).strip()
        comp = found["completion"][0]
        return Parsed(label == "harmful", label, off, ("harmful",), ("unharmful",),
                      rationale=reasoning or None, refusal=None if comp in ("none", "n/a") else comp == "refusal")


# --- RouteGuard critique ---------------------------------------------------------------------------

class RouteGuardCritiqueFormat(JudgeFormat):
    """RouteGuard's own critique: one JSON object ``{"unsafe": bool, "categories": [our ids],
    "evidence": str, "rationale": str}`` (a surrounding Markdown code fence is tolerated)."""

    name = "routeguard-critique"
    aliases = ("critique", "routeguard")
    template = "routeguard_critique"
    max_tokens = 512
    mappable = CATEGORIES
    FENCE: ClassVar[re.Pattern[str]] = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)
    KEYS: ClassVar[frozenset[str]] = frozenset({"unsafe", "categories", "evidence", "rationale"})

    def requests(self, conv: Conversation) -> list[Request]:
        parts = judged_parts(conv)
        names = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}
        subject = {"prompt": "last user message", "response": "last assistant message"}.get(
            parts.target, "whole conversation (agent trajectory)")
        cats = "\n".join(f"- {c}: {d}" for c, (d, _) in CATEGORY_INFO.items())
        return [Request(self._render(subject=subject, categories=cats,
                                     conversation=_transcript(parts.messages, names)))]

    def parse(self, text: str, key: str | None, parts: JudgedParts) -> Parsed:
        body, base = text, 0
        m = self.FENCE.match(text)
        if m:
            body, base = m.group(1), m.start(1)
        try:
            obj = json.loads(body)
        except json.JSONDecodeError as e:
            raise self._fail(f"not JSON ({e.msg})", text) from None
        if not isinstance(obj, dict):
            raise self._fail("not a JSON object", text)
        if set(obj) != self.KEYS:
            raise self._fail(f"keys must be exactly {sorted(self.KEYS)}, got {sorted(obj)}", text)
        if not isinstance(obj["unsafe"], bool):
            raise self._fail("'unsafe' must be true or false", text)
        cats = obj["categories"]
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise self._fail("'categories' must be a list of strings", text)
        bad = [c for c in cats if c not in ALL_CATEGORIES]
        if bad:
            raise self._fail(f"unknown category ids {bad}", text)
        if not obj["unsafe"] and cats:
            raise self._fail("'unsafe' is false but categories are given", text)
        for k in ("evidence", "rationale"):
            if not isinstance(obj[k], str):
                raise self._fail(f"'{k}' must be a string", text)
        lm = re.search(r'"unsafe"\s*:\s*', body)
        off = base + lm.end() if lm else None
        return Parsed(obj["unsafe"], str(obj["unsafe"]).lower(), off, ("true",), ("false",),
                      native_categories=list(cats), rationale=obj["rationale"] or None,
                      evidence=obj["evidence"] or None)

    def categories_for(self, parsed: Parsed, key: str | None) -> list[str]:
        return [c for c in parsed.native_categories if c in CATEGORIES]


# --- registry --------------------------------------------------------------------------------------

FORMATS: dict[str, type[JudgeFormat]] = {f.name: f for f in (
    LlamaGuard3Format, LlamaGuard4Format, WildGuardFormat, Qwen3GuardFormat, ShieldGemmaFormat,
    GraniteGuardianFormat, GuardReasonerFormat, PolicyGuardFormat, RouteGuardCritiqueFormat)}
_ALIASES = {a: f.name for f in FORMATS.values() for a in f.aliases}


def get_format(fmt: str | JudgeFormat, **options: Any) -> JudgeFormat:
    """A format by name (or alias) with its options; an unknown name is a ConfigError."""
    if isinstance(fmt, JudgeFormat):
        if options:
            raise ConfigError("options are given with a format instance; set them on the instance")
        return fmt
    key = _ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
    if key not in FORMATS:
        raise ConfigError(f"unknown judge format {fmt!r}; known: {', '.join(FORMATS)}")
    try:
        return FORMATS[key](**options)
    except TypeError as e:
        raise ConfigError(f"judge format {key!r}: bad options {sorted(options)} ({e})") from None


def check_length(fmt: JudgeFormat, reqs: list[Request], max_chars: int) -> None:
    for r in reqs:
        n = sum(len(str(m.get("content", ""))) for m in r.messages)
        if n > max_chars:
            raise JudgeInputError(f"{fmt.name}: the judge prompt has {n} characters, over max_input_chars="
                                  f"{max_chars} (raise it if the judge's context allows; the input is not truncated)")
