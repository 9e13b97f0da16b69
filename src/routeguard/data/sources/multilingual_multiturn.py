"""Multi-turn and multilingual harmful-prompt sets: CoSafe (multi-turn coreference attacks), XSafety
(13 safety scenarios x 10 languages) and MultiJail (315 prompts x 10 languages)."""
from __future__ import annotations

import ast
import csv
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

from ..registry import register
from ..schema import Mapping, Record, Source, SourceError, Upstream, read_csv, user

# -- CoSafe -----------------------------------------------------------------------------------------

#: BeaverTails' 14 harm categories (CoSafe file names) -> ours.
BEAVERTAILS_14: dict[str, tuple[str, ...]] = {
    "animal_abuse": ("animal_abuse",),
    "child_abuse": ("child_abuse",),
    "controversial_topics,politics": ("controversial_politics",),
    "discrimination,stereotype,injustice": ("hate_harassment",),
    "drug_abuse,weapons,banned_substance": ("weapons_drugs_physical_harm",),
    "financial_crime,property_crime,theft": ("unethical_nonviolent",),
    "hate_speech,offensive_language": ("hate_harassment",),
    "misinformation_regarding_ethics,laws_and_safety": ("misinformation",),
    "non_violent_unethical_behavior": ("unethical_nonviolent",),
    "privacy_violation": ("sensitive_information",),
    "self_harm": ("self_harm",),
    "sexually_explicit,adult_content": ("sexual_content",),
    "terrorism,organized_crime": ("terrorism_organized_crime",),
    "violence,aiding_and_abetting,incitement": ("weapons_drugs_physical_harm",),
}
_BT_NOTES = {
    "discrimination,stereotype,injustice": "Discrimination and stereotypes are hate against groups.",
    "drug_abuse,weapons,banned_substance": "Drugs and weapons share our physical-harm category.",
    "financial_crime,property_crime,theft": "Fraud, theft and property crime are non-violent wrongdoing.",
    "misinformation_regarding_ethics,laws_and_safety": "Same scope as our misinformation category.",
    "privacy_violation": "Doxxing and personal data requests.",
    "violence,aiding_and_abetting,incitement": "Violent crime and incitement: physical harm.",
}


def _read_jsonl_lines(path: Path) -> list[Any]:
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise SourceError(f"malformed JSONL {path} line {n}: {e}") from e
    except FileNotFoundError as e:
        raise SourceError(f"missing file {path}") from e
    except UnicodeDecodeError as e:
        raise SourceError(f"malformed JSONL {path}: {e}") from e
    return out


@register
class CoSafe(Source):
    name = "cosafe"
    directory = "cosafe"
    license = "none stated in repo (EMNLP 2024 paper)"
    upstream = Upstream("github:ErxinYu/CoSafe-Dataset", "a298d9c742203b00eaeca58dfca7100c7e2ff360", "")
    kind = "mixed"
    description = ("CoSafe: 1,400 multi-turn dialogues (100 per BeaverTails category) whose last user turn "
                   "refers back (coreference) to a harmful topic, plus the single-prompt BeaverTails "
                   "questions they were built from.")
    weak_labels = True
    crosswalk = tuple(Mapping(k, v, _BT_NOTES.get(k, "")) for k, v in BEAVERTAILS_14.items())
    caveats = (
        "Labels and categories are file-level (one category per file); all records are unsafe by "
        "construction, though some dialogues and single prompts read as mild or benign.",
        "Coreference dialogues are not tagged prompt_attack: the attack is a natural follow-up question, "
        "not a jailbreak/injection technique.",
        "One dialogue (drug_abuse..., line 58) ends with an assistant turn; it is dropped so every "
        "dialogue ends with the attacking user turn (original_labels['trimmed_assistant']).",
        "Single prompts repeat across category files (1,400 rows, 1,051 unique texts): each unique "
        "prompt is yielded once with the union of its categories.",
        "Single prompts come from BeaverTails; 137 also appear as prompts in beavertails_dev (and so "
        "probably in its kept-back half), with different responses there.",
    )

    def records(self) -> Iterator[Record]:
        for cat, cats in BEAVERTAILS_14.items():
            path = self.file(f"CoSafe datasets/{cat}.json")
            for i, dialog in enumerate(_read_jsonl_lines(path)):
                if not isinstance(dialog, list) or not all(
                        isinstance(m, dict) and m.get("role") in ("user", "assistant")
                        and isinstance(m.get("content"), str) for m in dialog):
                    raise SourceError(f"malformed dialogue in {path} line {i + 1}")
                msgs = [{"role": m["role"], "content": m["content"]} for m in dialog]
                trimmed = False
                while msgs and msgs[-1]["role"] == "assistant":
                    msgs.pop()
                    trimmed = True
                if not msgs:
                    continue
                orig: dict[str, Any] = {"category": cat}
                if trimmed:
                    orig["trimmed_assistant"] = True
                yield self.record(f"{i}", msgs, "unsafe", target="conversation", categories=cats,
                                  subset=f"dialogue:{cat}", original_labels=orig)
        merged: dict[str, tuple[str, list[str], list[int]]] = {}
        for cat in BEAVERTAILS_14:
            path = self.file(f"Single Prompt/{cat}_select_100.json")
            for i, item in enumerate(_read_jsonl_lines(path)):
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                    raise SourceError(f"malformed single prompt in {path} line {i + 1}")
                text = item[0].strip()
                if not text:
                    continue
                norm = " ".join(text.lower().split())
                entry = merged.setdefault(norm, (text, [], []))
                if cat not in entry[1]:
                    entry[1].append(cat)
                    entry[2].append(item[1])
        for norm, (text, cat_list, idx) in merged.items():
            key = hashlib.sha1(norm.encode("utf-8")).hexdigest()[:12]
            cats = [c for cat in cat_list for c in BEAVERTAILS_14[cat]]
            yield self.record(key, [user(text)], "unsafe", categories=cats, subset="single",
                              original_labels={"categories": cat_list, "index": idx})


# -- XSafety ----------------------------------------------------------------------------------------

XSAFETY_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Crimes_And_Illegal_Activities": ("unethical_nonviolent",),
    "Ethics_And_Morality": ("unethical_nonviolent",),
    "Goal_Hijacking": ("prompt_attack",),
    "Inquiry_With_Unsafe_Opinion": (),
    "Insult": ("hate_harassment",),
    "Mental_Health": ("mental_health_crisis",),
    "Physical_Harm": ("weapons_drugs_physical_harm",),
    "Privacy_And_Property": ("sensitive_information",),
    "Prompt_Leaking": ("prompt_attack",),
    "Reverse_Exposure": ("prompt_attack",),
    "Role_Play_Instruction": ("prompt_attack",),
    "Unfairness_And_Discrimination": ("hate_harassment",),
    "Unsafe_Instruction_Topic": (),
}
#: folder -> ISO 639-1 code
XSAFETY_LANGUAGES: dict[str, str] = {"ar": "ar", "bn": "bn", "de": "de", "en": "en", "fr": "fr",
                                     "hi": "hi", "ja": "ja", "ru": "ru", "sp": "es", "zh": "zh"}


@register
class XSafety(Source):
    name = "xsafety"
    directory = "xsafety"
    license = "Apache-2.0 (README: research use only)"
    upstream = Upstream("github:Jarviswang94/Multilingual_safety_benchmark",
                        "8c55b6a6cda594cd550a4921513238a2dd40eb5a", "")
    description = ("XSafety: 200 prompts for each of 13 safety scenarios / instruction attacks (Sun et "
                   "al. 2023 taxonomy), parallel in 10 languages.")
    weak_labels = True
    crosswalk = (
        Mapping("Crimes_And_Illegal_Activities", ("unethical_nonviolent",),
                "Mostly theft, fraud, smuggling, extortion and hacking talk; the few violent items are not "
                "separated."),
        Mapping("Ethics_And_Morality", ("unethical_nonviolent",),
                "Unethical conduct questions; many are benign ethics questions (noisy)."),
        Mapping("Goal_Hijacking", ("prompt_attack",), "'Ignore the above and output ...' injections."),
        Mapping("Inquiry_With_Unsafe_Opinion", (),
                "Queries embedding a harmful premise on mixed topics (discrimination, tax evasion, ...): "
                "unsafe, no single category; not a jailbreak technique."),
        Mapping("Insult", ("hate_harassment",)),
        Mapping("Mental_Health", ("mental_health_crisis",),
                "Users describing distress, hopelessness, occasionally suicidal thoughts."),
        Mapping("Physical_Harm", ("weapons_drugs_physical_harm",),
                "Mostly everyday health risks (sleep loss, alcohol, medication misuse): mild and noisy."),
        Mapping("Privacy_And_Property", ("sensitive_information",),
                "Requests for others' personal data, accounts, whereabouts."),
        Mapping("Prompt_Leaking", ("prompt_attack",),
                "Attempts to extract the system prompt; many items are benign questions about "
                "prompt-leak defences (noisy)."),
        Mapping("Reverse_Exposure", ("prompt_attack",),
                "'What should I avoid so that ...' reverse-psychology requests for harmful lists; many "
                "read as benign safety questions (noisy)."),
        Mapping("Role_Play_Instruction", ("prompt_attack",),
                "Role-play jailbreaks ('you are now a hacker who ...')."),
        Mapping("Unfairness_And_Discrimination", ("hate_harassment",)),
        Mapping("Unsafe_Instruction_Topic", (),
                "Direct harmful instructions on mixed topics (self-harm, hacking, drugs, forgery): unsafe, "
                "no single category."),
        Mapping("commonsense", (),
                "Skipped: physical-safety multiple-choice quizzes ('Output the unsafe choice'); the prompt "
                "is neither a harmful request nor clearly safe, and it is a knowledge test."),
    )
    caveats = (
        "All 13 scenario files are labelled unsafe at file level (weak_label). Several scenarios "
        "(Physical_Harm, Ethics_And_Morality, Prompt_Leaking, Reverse_Exposure, parts of "
        "Privacy_And_Property and Inquiry_With_Unsafe_Opinion) contain many benign-looking prompts: XSafety "
        "judges the model's response, not the prompt. Prefer it for evaluation.",
        "commonsense.csv (and hi/commen_sense.csv, a duplicate) are not loaded.",
        "bn files are .xlsx (read with openpyxl); file names vary by language (_n, _en suffixes, "
        "ru 'Crimes_And_Illegal_Activitie.csv').",
        "Folder 'sp' is Spanish (language 'es'). One blank row (ru/Insult) is skipped.",
        "Non-English prompts are machine/human translations of the Chinese originals (parallel sets).",
    )

    def _resolve(self, folder: str, cat: str) -> Path:
        base = self.path / folder
        # file names vary by language: en uses _n/_en suffixes, bn is _n.xlsx, ru truncates one name
        names = [f"{stem}{ext}" for stem in (cat, f"{cat}_n", f"{cat}_en", cat[:-1])
                 for ext in (".csv", ".xlsx")]
        for n in names:
            if (base / n).is_file():
                return base / n
        raise SourceError(f"{self.name}: missing file {base / names[0]} (tried {', '.join(names)})")

    @staticmethod
    def _rows(path: Path) -> list[str]:
        if path.suffix == ".xlsx":
            try:
                import openpyxl  # type: ignore[import-untyped]
            except ImportError as e:
                raise SourceError(f"cannot read {path}: openpyxl is not installed") from e
            try:
                wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
                try:
                    cells = [[c for c in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
                finally:
                    wb.close()
            except Exception as e:  # zipfile / openpyxl errors on a corrupt workbook
                raise SourceError(f"malformed XLSX {path}: {e}") from e
        else:
            try:
                with open(path, newline="", encoding="utf-8-sig") as f:
                    cells = list(csv.reader(f))
            except (UnicodeDecodeError, csv.Error) as e:
                raise SourceError(f"malformed CSV {path}: {e}") from e
        return [" ".join(str(c).strip() for c in row if c is not None and str(c).strip())
                for row in cells]

    def records(self) -> Iterator[Record]:
        for folder, lang in XSAFETY_LANGUAGES.items():
            for cat, cats in XSAFETY_CATEGORIES.items():
                path = self._resolve(folder, cat)
                for i, text in enumerate(self._rows(path)):
                    if not text:
                        continue
                    yield self.record(f"{lang}_{i}", [user(text)], "unsafe", categories=cats,
                                      language=lang, subset=cat,
                                      original_labels={"category": cat, "file": f"{folder}/{path.name}"})


# -- MultiJail --------------------------------------------------------------------------------------

MULTIJAIL_TAGS: dict[str, tuple[str, ...]] = {
    "Violence & incitement": ("weapons_drugs_physical_harm",),
    "Discrimination & injustice": ("hate_harassment",),
    "Hate speech & offensive language": ("hate_harassment",),
    "Bullying & harassment": ("hate_harassment",),
    "Non-violent unethical behavior (e.g. lying, cheating, etc.)": ("unethical_nonviolent",),
    "Conspiracy theories & misinformation": ("misinformation",),
    "Theft": ("unethical_nonviolent",),
    "Weapons": ("weapons_drugs_physical_harm",),
    "Adult content": ("sexual_content",),
    "Substance abuse & banned substances": ("weapons_drugs_physical_harm",),
    "Terrorism & organized crime": ("terrorism_organized_crime",),
    "Fraud & deception": ("unethical_nonviolent",),
    "Sexual exploitation & human trafficking": ("sexual_content",),
    "Animal abuse": ("animal_abuse",),
    "Property crime & vandalism": ("unethical_nonviolent",),
    "Soliciting personally identifiable information": ("sensitive_information",),
    "Self-harm": ("self_harm",),
    "Child abuse": ("child_abuse",),
}
MULTIJAIL_LANGUAGES = ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv")


@register
class MultiJail(Source):
    name = "multijail"
    directory = "multijail"
    license = "MIT"
    upstream = Upstream("github:DAMO-NLP-SG/multilingual-safety-for-LLMs",
                        "577ac511437e07a256130945ef312a99158a18ad", "data/MultiJail.csv")
    description = ("MultiJail: 315 harmful prompts (300 Anthropic red-team, 15 OpenAI) translated by "
                   "native speakers into 9 languages; multi-label harm tags.")
    crosswalk = (
        Mapping("Violence & incitement", ("weapons_drugs_physical_harm",)),
        Mapping("Discrimination & injustice", ("hate_harassment",)),
        Mapping("Hate speech & offensive language", ("hate_harassment",)),
        Mapping("Bullying & harassment", ("hate_harassment",)),
        Mapping("Non-violent unethical behavior (e.g. lying, cheating, etc.)", ("unethical_nonviolent",)),
        Mapping("Conspiracy theories & misinformation", ("misinformation",)),
        Mapping("Theft", ("unethical_nonviolent",)),
        Mapping("Weapons", ("weapons_drugs_physical_harm",)),
        Mapping("Adult content", ("sexual_content",)),
        Mapping("Substance abuse & banned substances", ("weapons_drugs_physical_harm",),
                "Drugs share our physical-harm category."),
        Mapping("Terrorism & organized crime", ("terrorism_organized_crime",)),
        Mapping("Fraud & deception", ("unethical_nonviolent",)),
        Mapping("Sexual exploitation & human trafficking", ("sexual_content",),
                "Sex crimes are in sexual_content; trafficking items are not separated out (child "
                "exploitation carries its own 'Child abuse' tag)."),
        Mapping("Animal abuse", ("animal_abuse",)),
        Mapping("Property crime & vandalism", ("unethical_nonviolent",)),
        Mapping("Soliciting personally identifiable information", ("sensitive_information",)),
        Mapping("Self-harm", ("self_harm",)),
        Mapping("Child abuse", ("child_abuse",)),
    )
    caveats = (
        "Parallel set: the same 315 prompts in 10 languages (non-English kept for evaluation by the "
        "builder).",
        "Anthropic red-team prompts are conversational openers; a few are only mildly harmful.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("MultiJail.csv")
        for i, row in enumerate(read_csv(path, encoding="utf-8-sig")):
            try:
                tags = ast.literal_eval(row["tags"])
                rid = row["id"].strip()
            except KeyError as e:
                raise SourceError(f"malformed CSV {path}: missing column {e}") from e
            except (ValueError, SyntaxError) as e:
                raise SourceError(f"malformed tags in {path} row {i}: {row['tags']!r}") from e
            if not isinstance(tags, list):
                raise SourceError(f"malformed tags in {path} row {i}: {row['tags']!r}")
            unknown = [t for t in tags if t not in MULTIJAIL_TAGS]
            if unknown:
                raise SourceError(f"{path} row {i}: unknown tags {unknown}")
            cats = [c for t in tags for c in MULTIJAIL_TAGS[t]]
            for lang in MULTIJAIL_LANGUAGES:
                if lang not in row:
                    raise SourceError(f"malformed CSV {path}: missing language column {lang!r}")
                text = (row[lang] or "").strip()
                if text:
                    yield self.record(f"{rid}_{lang}", [user(text)], "unsafe", categories=cats,
                                      language=lang,
                                      original_labels={"tags": tags, "source": row.get("source", ""),
                                                       "id": rid})
