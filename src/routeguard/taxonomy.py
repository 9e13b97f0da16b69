"""The 15-category GuardZoo taxonomy, the expert domains, and crosswalks to other schemes.

Category ids are stable public identifiers: they appear in verdicts, data files and configs.
"""
from __future__ import annotations

from typing import Final

#: category id -> (human description, expert domain)
CATEGORY_INFO: Final[dict[str, tuple[str, str]]] = {
    "weapons_drugs_physical_harm": ("physical harm, weapons, drugs, violent crime", "harm"),
    "self_harm": ("suicide, self-injury, eating disorders", "harm"),
    "mental_health_crisis": ("mental-health crises, harmful over-reliance on the assistant", "harm"),
    "animal_abuse": ("cruelty to animals", "harm"),
    "child_abuse": ("abuse or sexual exploitation of minors", "harm"),
    "terrorism_organized_crime": ("terrorism, extremism, organized crime", "harm"),
    "hate_harassment": ("hate speech, discrimination, harassment, threats", "social"),
    "sexual_content": ("sexually explicit and adult content, sex crimes", "social"),
    "controversial_politics": ("inflammatory political and controversial-topic content", "social"),
    "misinformation": ("misinformation about ethics, law and safety; defamation", "social"),
    "unethical_nonviolent": ("fraud, scams, theft, deception, other non-violent wrongdoing", "non_violent"),
    "cyberattack": ("hacking, malware, exploits, insecure or malicious code", "cyber"),
    "sensitive_information": ("privacy violations; sensitive data about people, organizations, governments", "cyber"),
    "copyright": ("copyright and intellectual-property violations", "cyber"),
    "agent_safety": ("unsafe actions or tool use by an agent; policy violations in trajectories", "agent"),
}

#: The expansion category (added as its own expert without retraining the others).
EXPANSION_INFO: Final[dict[str, tuple[str, str]]] = {
    "prompt_attack": ("jailbreaks, direct and indirect prompt injection", "attack"),
}

CATEGORIES: Final[tuple[str, ...]] = tuple(CATEGORY_INFO)
ALL_CATEGORIES: Final[tuple[str, ...]] = CATEGORIES + tuple(EXPANSION_INFO)
DOMAINS: Final[tuple[str, ...]] = ("harm", "social", "non_violent", "cyber", "agent")
ALL_DOMAINS: Final[tuple[str, ...]] = DOMAINS + ("attack",)
#: Categories held out in the out-of-domain protocol.
OOD_CATEGORIES: Final[tuple[str, ...]] = ("child_abuse", "terrorism_organized_crime")


def domain_of(category: str) -> str:
    """Expert domain of a category id (raises KeyError naming the id if unknown)."""
    info = CATEGORY_INFO.get(category) or EXPANSION_INFO.get(category)
    if info is None:
        raise KeyError(f"unknown category id {category!r}; known: {', '.join(ALL_CATEGORIES)}")
    return info[1]


def categories_of(domain: str) -> tuple[str, ...]:
    cats = tuple(c for c in ALL_CATEGORIES if domain_of(c) == domain)
    if not cats:
        raise KeyError(f"unknown domain {domain!r}; known: {', '.join(ALL_DOMAINS)}")
    return cats


def validate_categories(cats: list[str] | tuple[str, ...]) -> None:
    for c in cats:
        domain_of(c)


# --- Crosswalks to the ecosystem's schemes -------------------------------------------------------

#: Llama Guard 3/4 (MLCommons) hazard codes -> our categories.
LLAMA_GUARD: Final[dict[str, tuple[str, ...]]] = {
    "S1": ("weapons_drugs_physical_harm",),
    "S2": ("unethical_nonviolent",),
    "S3": ("sexual_content",),
    "S4": ("child_abuse",),
    "S5": ("misinformation",),
    "S6": ("misinformation",),
    "S7": ("sensitive_information",),
    "S8": ("copyright",),
    "S9": ("weapons_drugs_physical_harm",),
    "S10": ("hate_harassment",),
    "S11": ("self_harm",),
    "S12": ("sexual_content",),
    "S13": ("misinformation",),
    "S14": ("cyberattack",),
}

LLAMA_GUARD_NAMES: Final[dict[str, str]] = {
    "S1": "Violent Crimes", "S2": "Non-Violent Crimes", "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation", "S5": "Defamation", "S6": "Specialized Advice",
    "S7": "Privacy", "S8": "Intellectual Property", "S9": "Indiscriminate Weapons", "S10": "Hate",
    "S11": "Suicide & Self-Harm", "S12": "Sexual Content", "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}

#: OpenAI moderation's 13 categories -> ours (used to read OpenAI-labelled data).
OPENAI_TO_OURS: Final[dict[str, tuple[str, ...]]] = {
    "harassment": ("hate_harassment",),
    "harassment/threatening": ("hate_harassment",),
    "hate": ("hate_harassment",),
    "hate/threatening": ("hate_harassment",),
    "illicit": ("unethical_nonviolent",),
    "illicit/violent": ("weapons_drugs_physical_harm",),
    "self-harm": ("self_harm",),
    "self-harm/intent": ("self_harm",),
    "self-harm/instructions": ("self_harm",),
    "sexual": ("sexual_content",),
    "sexual/minors": ("child_abuse",),
    "violence": ("weapons_drugs_physical_harm",),
    "violence/graphic": ("weapons_drugs_physical_harm",),
}
OPENAI_CATEGORIES: Final[tuple[str, ...]] = tuple(OPENAI_TO_OURS)

#: Ours -> OpenAI keys whose score is derived from ours (max over sources). Categories without an
#: OpenAI counterpart (cyberattack, copyright, ...) are reported only in the extra field.
OURS_TO_OPENAI: Final[dict[str, tuple[str, ...]]] = {
    "hate_harassment": ("harassment", "hate"),
    "unethical_nonviolent": ("illicit",),
    "weapons_drugs_physical_harm": ("violence", "illicit/violent"),
    "terrorism_organized_crime": ("violence", "illicit/violent"),
    "self_harm": ("self-harm",),
    "sexual_content": ("sexual",),
    "child_abuse": ("sexual/minors",),
}
