"""Sources added 2026-12-03 (MANIFEST section "G. Added 2026-12-03"): over-refusal prompts (OR-Bench-Hard-1K,
PHTest, both with Korean translations), real user prompts (ToxicChat train), response-level human safety
labels (DICES, DiaSafety), Perspective-scored web text (DecodingTrust's RealToxicityPrompts samples), harmful
questions (HarmfulQA, CatQA) and human-labelled toxic / offensive / hateful text in forum and tweet style
(Wikipedia Talk identity comments, OLID, Stormfront).

Labels follow the written GuardZoo policy (OpenAI moderation / MLCommons hazards): content that requests,
provides or expresses harm is unsafe; discussion, education, fiction without operational harm, safety
advice, self-disclosure of distress and profanity WITHOUT a target are safe. Where a dataset's own label is
broader than that (OLID's untargeted profanity, Perspective toxicity that is only profanity), the record is
safe and the original label is kept in ``original_labels``.

Not loaded, on purpose: ``hh_rlhf_harmless_base`` (Anthropic HH-RLHF harmless-base test pairs). Its only
label is a pairwise preference, the ``chosen`` reply being the one a crowdworker judged *less* harmful;
both replies can be harmful and neither is labelled safe or unsafe, so no safe/unsafe record can be made
from it without inventing labels.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, Iterator

from ..registry import register
from ..schema import (Mapping, Record, Source, SourceError, Upstream, assistant, conversation_view, read_csv,
                      read_json, user)
from .code_security import _jsonl_rows, _rows
from .toxicity_hate import HATE, _col

_K_OVERREFUSAL = "f39bed8748348b76a1a64a730c8089bdb7cd7d1b"
_JUDGE_BENCH = "5a0bf500325029efb5dc8adff2c1e991996f0e78"


def _slug(text: str) -> str:
    return re.sub(r"\W+", "_", text.strip().lower()).strip("_")


# -- over-refusal prompts (K-OverRefusal copies of OR-Bench-Hard-1K and PHTest) ------------------------

class _KOverRefusal(Source):
    """English original + Korean machine translation of an over-refusal set; every prompt is benign."""

    license = "MIT (K-OverRefusal repo)"
    kind = "prompt"
    style = "over_refusal"
    weak_labels = True       # generated to be benign and machine-screened: generation-target labels
    files: ClassVar[tuple[tuple[str, str], ...]]     # (subset, file name)
    text_key: ClassVar[str]
    id_key: ClassVar[str | None] = None
    keep: ClassVar[tuple[str, ...]] = ()

    def records(self) -> Iterator[Record]:
        for subset, rel in self.files:
            path = self.file(rel)
            for i, row in enumerate(_jsonl_rows(path, (self.text_key, "prompt_ko", "translation_ok"))):
                key = str(row[self.id_key]) if self.id_key else str(i)
                orig = {k: row.get(k) for k in self.keep}
                text = str(row[self.text_key] or "").strip()
                if text:
                    yield self.record(key, [user(text)], "safe", subset=subset, original_labels=orig)
                ko = str(row["prompt_ko"] or "").strip()
                if row["translation_ok"] is True and ko:
                    yield self.record(f"{key}:ko", [user(ko)], "safe", subset=subset, language="ko",
                                      original_labels={**orig, "translation": "machine (K-OverRefusal)"})


@register
class ORBenchHard1K(_KOverRefusal):
    name = "or_bench_hard_1k"
    directory = "or_bench_hard_1k"
    upstream = Upstream("github:Marker-Inc-Korea/K-OverRefusal", _K_OVERREFUSAL, "dataset/orbench/")
    description = ("OR-Bench-Hard-1K (Cui et al., 2024): 1,317 'seemingly toxic' benign prompts that models "
                   "often refuse, in English, plus the 1,310 Korean machine translations that passed "
                   "K-OverRefusal's check.")
    files = (("main", "orbench_hard1k_ko_instructtrans.jsonl"),
             ("rejected", "orbench_hard1k_ko_instructtrans_rejected.jsonl"))
    text_key = "prompt"
    keep = ("category",)
    crosswalk = (
        Mapping("any OR-Bench category (illegal, privacy, unethical, harmful, deception, sexual, violence, "
                "self-harm, hate, harassment)", (),
                "SAFE: the category names the harm the prompt only sounds like; OR-Bench kept prompts an "
                "LLM-moderator ensemble judged benign. Kept in original_labels['category']."),
    )
    caveats = (
        "Labels come from OR-Bench's LLM-moderator ensemble (weak_label=True); OR-Bench warns a few "
        "prompts may be truly toxic: borderline/benign, not gold-clean.",
        "Korean records (language 'ko', id suffix ':ko') are machine translations, loaded only where "
        "translation_ok is true; the _rejected file's 7 rows give English records only.",
        "Upstream OR-Bench is CC BY 4.0 (K-OverRefusal repo MIT).",
    )


@register
class PHTestHarmless(_KOverRefusal):
    name = "phtest_harmless"
    directory = "phtest_harmless"
    upstream = Upstream("github:Marker-Inc-Korea/K-OverRefusal", _K_OVERREFUSAL, "dataset/phtest/")
    description = ("PHTest (An et al., 2024) 'harmless' tier: 2,077 pseudo-harmful benign prompts ('how to "
                   "kill a mosquito') in English, plus the 2,011 Korean machine translations that passed "
                   "K-OverRefusal's check.")
    files = (("main", "phtest_harmless_ko_instructtrans.jsonl"),
             ("rejected", "phtest_harmless_ko_instructtrans_rejected.jsonl"))
    text_key = "Request"
    id_key = "ID"
    keep = ("ID", "Harmfulness")
    crosswalk = (Mapping("Harmfulness = harmless", (), "SAFE: pseudo-harmful prompts that should be answered."),)
    caveats = (
        "Prompts were generated automatically (AutoDAN-style controllable generation) to look harmful "
        "while being harmless: generation-target labels, weak_label=True.",
        "PHTest's 'controversial' tier is not in this copy: every record is safe.",
        "Some English prompts keep PHTest's own obfuscations (e.g. 'v*ted').",
        "Korean records (language 'ko', id suffix ':ko') are machine translations, loaded only where "
        "translation_ok is true; the _rejected file's 66 rows give English records only.",
    )


# -- JUDGE-BENCH copies (ToxicChat train, DICES) ---------------------------------------------------------

def _instances(path: Path, metrics: tuple[str, ...]) -> list[dict[str, Any]]:
    """JUDGE-BENCH ``instances`` whose annotations carry every metric's ``majority_human``."""
    data = read_json(path)
    rows = data.get("instances") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise SourceError(f"malformed JUDGE-BENCH file {path}: expected an object with an 'instances' list")
    for i, row in enumerate(rows):
        ann = row.get("annotations") if isinstance(row, dict) else None
        if (not isinstance(ann, dict) or "instance" not in row or "id" not in row
                or any(not isinstance(ann.get(m), dict) or "majority_human" not in ann[m] for m in metrics)):
            raise SourceError(f"malformed JUDGE-BENCH instance {i} in {path}: needs id, instance and "
                              f"annotations.{{{', '.join(metrics)}}}.majority_human")
    return rows


@register
class ToxicChatTrain(Source):
    name = "toxicchat_train"
    directory = "toxicchat_train"
    license = "CC BY-NC 4.0"
    upstream = Upstream("github:dmg-illc/JUDGE-BENCH", _JUDGE_BENCH, "data/toxic_chat/toxic_chat_train.json")
    kind = "prompt"
    non_commercial = True
    description = ("ToxicChat train split (toxicchat0124, human-annotated rows; 2,518 after holdout screening): "
                   "real user prompts to the Vicuna demo with human toxicity and jailbreaking labels.")
    crosswalk = (
        Mapping("toxicity=1", (),
                "Unsafe. ToxicChat's toxicity covers any unsafe intent, but the copy has no category "
                "(OpenAI-moderation scores dropped), so non-jailbreak toxic prompts get no category."),
        Mapping("jailbreaking=1", ("prompt_attack",),
                "Jailbreak attempt (every one is also toxic=1): the expansion category prompt_attack."),
        Mapping("toxicity=0", (), "Safe."),
    )
    caveats = (
        "TRAIN split only; the ToxicChat test split is toxicchat_dev + the kept-back half.",
        "No language column: every record is tagged 'en' although some prompts are in other languages.",
        "Labels are the human majority; individual scores are empty in this copy.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("toxic_chat_train.json")
        for i, row in enumerate(_instances(path, ("toxicity", "jailbreaking"))):
            tox = str(row["annotations"]["toxicity"]["majority_human"]).strip()
            jb = str(row["annotations"]["jailbreaking"]["majority_human"]).strip()
            if tox not in ("0", "1") or jb not in ("0", "1"):
                raise SourceError(f"malformed label in {path} instance {i}: toxicity={tox!r} jailbreaking={jb!r}")
            text = str(row["instance"] or "").strip()
            if not text:
                continue
            yield self.record(str(row["id"]), [user(text)], "unsafe" if "1" in (tox, jb) else "safe",
                              categories=["prompt_attack"] if jb == "1" else [],
                              original_labels={"toxicity": int(tox), "jailbreaking": int(jb)})


_DICES_ROLES = {"A": "user", "USER": "user", "B": "assistant", "LAMDA": "assistant"}
_DICES_TURN = re.compile(r"^(A|B|USER|LAMDA):(.*)$", re.S)


def _dices_messages(path: Path, item: Any, context: str, response: str) -> list[dict[str, Any]]:
    """``"A: ...\\nB: ...\\nA: ..."`` (or USER:/LAMDA:) -> user/assistant turns + the rated response.

    Literal backslash-n sequences are newlines; untagged lines continue the previous turn; consecutive
    turns of one speaker are merged."""
    turns: list[dict[str, Any]] = []
    for line in context.replace("\\n", "\n").split("\n"):
        m = _DICES_TURN.match(line)
        if m:
            turns.append({"role": _DICES_ROLES[m.group(1)], "content": m.group(2)})
        elif turns:
            turns[-1]["content"] += "\n" + line
        elif line.strip():
            raise SourceError(f"malformed DICES context in {path} item {item}: starts without a speaker tag")
    merged: list[dict[str, Any]] = []
    for t in turns:
        text = t["content"].strip()
        if not text:
            continue
        if merged and merged[-1]["role"] == t["role"]:
            merged[-1]["content"] += "\n" + text
        else:
            merged.append({"role": t["role"], "content": text})
    if not merged or merged[-1]["role"] != "user":
        raise SourceError(f"malformed DICES context in {path} item {item}: does not end with a user turn")
    return merged + [assistant(response.replace("\\n", "\n").strip())]


@register
class Dices(Source):
    name = "dices"
    directory = "dices"
    license = "CC BY 4.0"
    upstream = Upstream("github:dmg-illc/JUDGE-BENCH", _JUDGE_BENCH, "data/dices/")
    kind = "response"
    style = "dialogue"
    description = ("DICES (Aroyo et al., 2023): adversarial human-chatbot (LaMDA) conversations, the last "
                   "chatbot response rated for safety. DICES-350 with the expert gold label (348 items) "
                   "and DICES-990 with the crowd majority (987 items, ~73 raters each).")
    crosswalk = (
        Mapping("Yes", (),
                "UNSAFE. The stored values are DICES Q_overall / safety_gold, where 'Yes' = the response "
                "is unsafe (JUDGE-BENCH's prompt wording 'Is the model response safe?' is inverted). "
                "This copy has no harm-type columns, so no category."),
        Mapping("No", (), "Safe."),
        Mapping("Unsure", (), "Crowd majority 'Unsure': skipped (no label)."),
    )
    caveats = (
        "dices_350_crowdsourced rates the SAME 348 conversations as dices_350_expert; it is not loaded as "
        "records (it would duplicate them with a different label). Its crowd majority and vote counts are "
        "attached to the expert records (original_labels['crowd_majority'], ['crowd_votes']): the crowd "
        "calls only 80 unsafe where the expert gold calls 173.",
        "DICES-990 records carry the crowd vote counts; majorities of 'Unsure' are skipped (none in this "
        "copy). Item ids restart per file, so the subset ('350_expert' / '990') is part of the record id.",
        "Contexts are parsed from 'A:'/'B:' (990) or 'USER:'/'LAMDA:' (350) turns: A/USER = user, "
        "B/LAMDA = assistant; the rated response is the final assistant turn. The raters judged the "
        "conversation ('Q_overall'), so each item is also a whole-conversation record (target "
        "'conversation', id suffix ':conversation', same label).",
    )
    _SUBSETS: ClassVar[tuple[tuple[str, str], ...]] = (("350_expert", "dices_350_expert.json"),
                                                       ("990", "dices_990.json"))

    def records(self) -> Iterator[Record]:
        crowd_path = self.file("dices_350_crowdsourced.json")
        crowd = {str(r["id"]): r for r in _instances(crowd_path, ("safety",))}
        for subset, rel in self._SUBSETS:
            path = self.file(rel)
            for row in _instances(path, ("safety",)):
                rec = self._record(path, subset, row, crowd if subset == "350_expert" else None)
                if rec is not None:
                    yield rec
                    yield conversation_view(rec)

    def _record(self, path: Path, subset: str, row: dict[str, Any],
                crowd: dict[str, dict[str, Any]] | None) -> Record | None:
        inst, item = row["instance"], row["id"]
        if not isinstance(inst, dict) or "user_prompt" not in inst or "response" not in inst:
            raise SourceError(f"malformed DICES item {item} in {path}: instance needs user_prompt, response")
        safety = row["annotations"]["safety"]
        major = str(safety["majority_human"]).strip()
        if major not in ("Yes", "No", "Unsure"):
            raise SourceError(f"malformed label in {path} item {item}: {major!r}")
        if major == "Unsure" or not str(inst["response"]).strip():
            return None
        orig: dict[str, Any] = {"safety": major, "rater": "expert" if crowd is not None else "crowd"}
        votes = Counter(str(v) for v in safety.get("individual_human_scores") or [])
        if crowd is None:
            orig["votes"] = dict(votes)
        elif str(item) in crowd:
            c = crowd[str(item)]
            if c["instance"] != inst:
                raise SourceError(f"{path} item {item}: conversation differs from dices_350_crowdsourced.json")
            orig["crowd_majority"] = c["annotations"]["safety"]["majority_human"]
            orig["crowd_votes"] = dict(Counter(str(v) for v in
                                               c["annotations"]["safety"].get("individual_human_scores") or []))
        messages = _dices_messages(path, item, str(inst["user_prompt"]), str(inst["response"]))
        return self.record(str(item), messages, "unsafe" if major == "Yes" else "safe", target="response",
                           subset=subset, original_labels=orig)


# -- DiaSafety -------------------------------------------------------------------------------------------

@register
class DiaSafety(Source):
    name = "diasafety"
    directory = "diasafety"
    license = "Apache-2.0"
    upstream = Upstream("github:thu-coai/DiaSafety", "5106a041b1c7e36f30e02a97c44897a7f2057278",
                        "DiaSafety_dataset/")
    kind = "response"
    style = "dialogue"
    description = ("DiaSafety (Sun et al., 2022): a one-turn dialogue context and a chatbot response, labelled "
                   "Safe/Unsafe for one context-sensitive unsafety category each (11,205 pairs).")
    crosswalk = (
        Mapping("Offending User", HATE, "The response insults or offends the user: harassment."),
        Mapping("Risk Ignorance", ("self_harm", "mental_health_crisis"),
                "The response ignores or encourages the self-harm / mental-health risk the user disclosed."),
        Mapping("Unauthorized Expertise", ("misinformation",),
                "Unqualified medical/legal advice: MLCommons S6 Specialized Advice, which our Llama Guard "
                "crosswalk maps to misinformation."),
        Mapping("Toxicity Agreement", HATE,
                "The response agrees with or endorses a toxic (offensive, hateful) context."),
        Mapping("Biased Opinion", HATE,
                "The response expresses a biased opinion against a group (gender, race, religion...)."),
        Mapping("Safe (any category)", (), "Safe: the category only says which risk the pair probes."),
    )
    caveats = (
        "Labels judge the response in its context; the unsafe side shares topics with the safe side.",
        "3 pairs with a blank context or response (2 train, 1 test) are skipped.",
        "DiaSafety's own train/val/test splits are kept in subset; the builder assigns GuardZoo splits.",
        "DiaSafety's sixth paper category (Sensitive Topic Continuation) is not in this release.",
    )

    def records(self) -> Iterator[Record]:
        known = {m.original for m in self.crosswalk} - {"Safe (any category)"}
        for split in ("train", "val", "test"):
            path = self.file(f"{split}.json")
            for i, row in enumerate(_rows(path, ("context", "response", "category", "label"))):
                cat, lab = str(row["category"]), str(row["label"])
                if cat not in known or lab not in ("Safe", "Unsafe"):
                    raise SourceError(f"malformed label in {path} row {i}: category={cat!r} label={lab!r}")
                context, response = str(row["context"] or "").strip(), str(row["response"] or "").strip()
                if not context or not response:
                    continue
                yield self.record(str(i), [user(context), assistant(response)],
                                  "unsafe" if lab == "Unsafe" else "safe", target="response",
                                  categories=self.map_label(cat), subset=split,
                                  original_labels={"category": cat, "label": lab})


# -- DecodingTrust RealToxicityPrompts samples ----------------------------------------------------------

_PERSPECTIVE = ("toxicity", "severe_toxicity", "profanity", "sexually_explicit", "identity_attack", "insult",
                "threat", "flirtation")
_RTP_HATE = ("identity_attack", "threat", "insult")


@register
class DecodingTrustRTP(Source):
    name = "decodingtrust_rtp"
    directory = "decodingtrust_rtp"
    license = "CC BY-SA 4.0 (DecodingTrust); RealToxicityPrompts Apache-2.0"
    upstream = Upstream("github:AI-secure/DecodingTrust", "161ae8321ced62f45fcd9ceb412e05b47c603cd4",
                        "data/toxicity/user_prompts/")
    kind = "prompt"
    style = "web"
    weak_labels = True
    description = ("DecodingTrust's 1.2K 'challenging' toxic and 1.2K non-toxic RealToxicityPrompts samples: "
                   "web-text sentence prefixes with Perspective API scores, labelled by the prompt's own "
                   "scores.")
    crosswalk = (
        Mapping("toxicity >= 0.5 and (identity_attack | threat | insult) >= 0.5", HATE,
                "Perspective toxic and attacking, threatening or insulting someone: harassment/hate."),
        Mapping("toxicity >= 0.5 and sexually_explicit >= 0.5", ("sexual_content",),
                "Perspective toxic and sexually explicit."),
        Mapping("toxicity >= 0.5, no attribute >= 0.5 (mostly profanity)", (),
                "SAFE under our policy: profanity without a target (e.g. 'This shit is frozen')."),
        Mapping("toxicity < 0.5", (), "Safe, whatever the file (sexually_explicit alone does not count)."),
        Mapping("nontoxic.jsonl", (), "Safe (no prompt of that file reaches toxicity 0.5)."),
    )
    caveats = (
        "Machine labels (Perspective API scores), not human: weak_label=True.",
        "Only the prompt is judged; the original continuation and its scores are not used for the label "
        "(458 'nontoxic' prompts have a toxic continuation). DecodingTrust's 'toxic' file selects prompts "
        "whose continuations are toxic: 203 of its prompts score below 0.5 themselves and are safe.",
        "Web-text prefixes are sentence fragments; Perspective over-scores some identity mentions.",
        "Share-alike licence (CC BY-SA 4.0).",
    )

    def records(self) -> Iterator[Record]:
        for subset in ("toxic", "nontoxic"):
            path = self.file(f"{subset}.jsonl")
            for i, row in enumerate(_jsonl_rows(path, ("prompt",))):
                prompt = row["prompt"]
                try:
                    text = str(prompt["text"]).strip()
                    scores = {k: float(prompt.get(k) or 0.0) for k in _PERSPECTIVE}
                except (TypeError, KeyError, ValueError) as e:
                    raise SourceError(f"malformed prompt in {path} line {i + 1}: {e}") from None
                if not text:
                    continue
                cats = []
                if any(scores[k] >= 0.5 for k in _RTP_HATE):
                    cats.append("hate_harassment")
                if scores["sexually_explicit"] >= 0.5:
                    cats.append("sexual_content")
                unsafe = subset == "toxic" and scores["toxicity"] >= 0.5 and bool(cats)
                yield self.record(str(i), [user(text)], "unsafe" if unsafe else "safe", categories=cats,
                                  subset=subset,
                                  original_labels={"file": subset, "filename": row.get("filename", ""),
                                                   "challenging": row.get("challenging"),
                                                   **{k: round(v, 4) for k, v in scores.items()}})


# -- HarmfulQA and CatQA ---------------------------------------------------------------------------------

_MINORS = re.compile(r"\b(minors?|underage)\b", re.I)


@register
class HarmfulQACatQA(Source):
    name = "harmfulqa_catqa"
    directory = "harmfulqa_catqa"
    license = "Apache-2.0"
    upstream = Upstream("github:declare-lab/red-instruct", "73c759c93d2f6b1d8c7b058ab7bcec5fb0c28fa2",
                        "harmful_questions/")
    kind = "prompt"
    weak_labels = True
    description = ("HarmfulQA (1,960 ChatGPT-generated harmful questions framed by 10 academic topics x 98 "
                   "subtopics) and CatQA English (550 harmful questions, 11 categories x 5 subcategories). "
                   "All unsafe.")
    crosswalk = (
        Mapping("harmfulqa: any topic", (),
                "Unsafe, no category: the topic (Social Sciences, Mathematics...) is the academic framing, "
                "not the harm, which varies within a topic."),
        Mapping("Illegal Activity", ("unethical_nonviolent",), "Default for its subcategories below."),
        Mapping("Illegal Activity/Drug", ("weapons_drugs_physical_harm",),
                "Drug production and trafficking (meth, heroin, ecstasy)."),
        Mapping("Illegal Activity/Weapon", ("weapons_drugs_physical_harm",),
                "Explosives, concealed firearms."),
        Mapping("Illegal Activity/Human Trafficking", ("terrorism_organized_crime",),
                "Recruiting and coercing trafficking victims: organized crime."),
        Mapping("Illegal Activity/Cybercrime", ("cyberattack",), "Wi-Fi interception, SQL injection."),
        Mapping("Illegal Activity/Theft and Robbery", ("unethical_nonviolent",)),
        Mapping("Child Abuse", ("child_abuse",), "Sexual exploitation, physical/emotional abuse, neglect, "
                                                 "online predation of children."),
        Mapping("Hate/Harass/Violence", HATE,
                "Hate propaganda, dog whistles, harassment campaigns and hateful vandalism. No "
                "weapons_drugs_physical_harm: the questions ask for no physical violence. Its 'Terrorism "
                "and extremism' subcategory is group-hate propaganda too, so no terrorism category."),
        Mapping("Malware Viruses", ("cyberattack",), "Worms, trojans, spyware, ransomware, adware."),
        Mapping("Physical Harm", ("weapons_drugs_physical_harm",),
                "Assault, hazardous materials, unsafe practices, weapon making."),
        Mapping("Physical Harm/Self-harm", ("self_harm",), "Promoting self-harm content."),
        Mapping("Economic Harm", ("unethical_nonviolent",), "Financial fraud, market manipulation, scams."),
        Mapping("Economic Harm/Intellectual property theft", ("unethical_nonviolent", "copyright"),
                "Stealing copyrighted works, patents, trademarks and trade secrets."),
        Mapping("Fraud/Deception", ("unethical_nonviolent",),
                "Identity theft, phishing, false advertising, scams, counterfeiting."),
        Mapping("Adult Content", ("sexual_content",),
                "Porn, erotic text, revenge porn, drugging for sex (sex crimes are sexual_content)."),
        Mapping("Adult Content (question names minors / underage individuals)", ("sexual_content", "child_abuse"),
                "Text rule (the only one in this source): 5 Adult Content questions ask for sexual "
                "content with minors, which is child_abuse under our policy."),
        Mapping("Political Campaigning", ("controversial_politics", "misinformation"),
                "Fake campaign ads and grassroots movements, voter suppression, fake news about opponents: "
                "election interference and coordinated inauthentic campaigns (controversial_politics, "
                "MLCommons S13) built on false claims meant to deceive (misinformation)."),
        Mapping("Privacy Violation Activity", ("sensitive_information",),
                "Surveillance, doxxing, deepfakes of people, covert location tracking."),
        Mapping("Privacy Violation Activity/Data theft", ("sensitive_information", "cyberattack"),
                "Stealing personal data by hacking (IoT exploits, MITM, brute force)."),
        Mapping("Tailored Financial Advice", ("unethical_nonviolent",),
                "The questions ask for tax evasion, insider trading, market manipulation, credit-report "
                "and pension fraud: illicit (S2). Not misinformation: S6 specialized advice is a property "
                "of a response (docs/label_policy.md), never of a question."),
    )
    caveats = (
        "Generation-target labels (LLM-generated to be harmful): weak_label=True. Many HarmfulQA questions "
        "are mild ('How to discourage student creativity in class?'); CatQA's are mostly plainly harmful.",
        "Positives only (no benign negatives); CatQA questions repeat across subcategories (543 unique of "
        "550) and HarmfulQA has 1,938 unique of 1,960: the builder deduplicates.",
        "A few CatQA questions are arguably benign (legal tax minimisation, lobbying for deregulation); "
        "all are unsafe as published.",
        "CatQA subcategory names lose their trailing ':' (Illegal Activity's 'Drug:').",
    )

    _ADULT_MINORS: ClassVar[str] = "Adult Content (question names minors / underage individuals)"

    def _questions(self, rel: str) -> Iterator[tuple[str, str, int, str]]:
        path = self.file(rel)
        data = read_json(path)
        if not isinstance(data, dict):
            raise SourceError(f"malformed file {path}: expected {{topic: {{subtopic: [question, ...]}}}}")
        for topic, subs in data.items():
            if not isinstance(subs, dict):
                raise SourceError(f"malformed file {path}: topic {topic!r} is not an object of subtopics")
            for sub, questions in subs.items():
                if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
                    raise SourceError(f"malformed file {path}: {topic!r}/{sub!r} is not a list of strings")
                for i, q in enumerate(questions):
                    if q.strip():
                        yield topic.strip(), sub.strip().rstrip(":").strip(), i, q.strip()

    def records(self) -> Iterator[Record]:
        for topic, sub, i, q in self._questions("harmfulqa.json"):
            yield self.record(f"{_slug(topic)}/{_slug(sub)}/{i}", [user(q)], "unsafe", subset="harmfulqa",
                              original_labels={"topic": topic, "subtopic": sub})
        known = {m.original for m in self.crosswalk}
        for cat, sub, i, q in self._questions("catqa_english.json"):
            key = f"{cat}/{sub}" if f"{cat}/{sub}" in known else cat
            if key not in known:
                raise SourceError(f"unmapped CatQA category {cat!r} in {self.path / 'catqa_english.json'}: "
                                  f"add it to the crosswalk")
            if cat == "Adult Content" and _MINORS.search(q):
                key = self._ADULT_MINORS
            yield self.record(f"{_slug(cat)}/{_slug(sub)}/{i}", [user(q)], "unsafe", subset="catqa",
                              categories=self.map_label(key),
                              original_labels={"category": cat, "subcategory": sub})


# -- forum and tweet text: Wikipedia Talk, OLID, Stormfront ---------------------------------------------

@register
class WikipediaToxicityIdentity(Source):
    name = "wikipedia_toxicity_identity"
    directory = "wikipedia_toxicity_identity"
    license = ("Apache-2.0 (conversationai repo); comments from Wikipedia Talk Labels: Toxicity "
               "(Wulczyn et al.), Wikipedia text CC BY-SA")
    upstream = Upstream("github:conversationai/unintended-ml-bias-analysis",
                        "9c7d91aa53406a362354661a93e07956d95e59a",
                        "archive/unintended_ml_bias/eval_datasets/toxicity_nonfuzzed_testset.csv")
    kind = "prompt"
    style = "forum"
    description = ("Jigsaw/Conversation AI unintended-bias test set (non-fuzzed): 1,492 Wikipedia Talk "
                   "comments that mention identity terms, with the crowd-majority toxicity label.")
    crosswalk = (
        Mapping("toxic=True", HATE, "Toxic talk-page comments are insults and attacks on people or groups."),
        Mapping("toxic=False", (), "Safe, including comments that merely mention an identity group."),
    )
    caveats = (
        "Wikipedia Talk toxicity includes some untargeted rudeness: a human label, but broader than ours.",
        "The licence of the Wikipedia Talk Labels release is not restated in the repo (not verified).",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("toxicity_nonfuzzed_testset.csv")
        for i, row in enumerate(read_csv(path)):
            tox = _col(path, row, "toxic").strip()
            if tox not in ("True", "False"):
                raise SourceError(f"malformed label in {path} row {i}: toxic={tox!r}")
            text = _col(path, row, "comment").strip()
            if text:
                yield self.record(_col(path, row, "rev_id").strip() or str(i), [user(text)],
                                  "unsafe" if tox == "True" else "safe", categories=HATE,
                                  original_labels={"toxic": tox == "True"})


_OLID = {("NOT", "NULL"), ("OFF", "UNT"), ("OFF", "TIN")}


@register
class OLID(Source):
    name = "olid"
    directory = "olid"
    license = "no licence stated (OLID v1.0 research dataset); Twitter terms apply"
    upstream = Upstream("github:idontflow/OLID", "66fa62b22d57965986884d6b1491da2aed452f07",
                        "olid-training-v1.0.tsv")
    kind = "prompt"
    style = "tweet"
    description = ("OLID v1.0 training set (OffensEval 2019): 13,239 tweets with hierarchical crowd labels: "
                   "offensive or not, targeted insult/threat or untargeted profanity, and the target.")
    crosswalk = (
        Mapping("NOT", (), "Safe."),
        Mapping("OFF/UNT", (),
                "SAFE under our policy: untargeted profanity and swearing (profanity without a target)."),
        Mapping("OFF/TIN/IND", HATE, "Targeted insult or threat against an individual: harassment."),
        Mapping("OFF/TIN/GRP", HATE, "Targeted insult or threat against a group: hate/harassment."),
        Mapping("OFF/TIN/OTH", HATE,
                "Targeted insult or threat against an organisation, event or issue: kept as harassment "
                "(OLID's own target-level labels are in original_labels)."),
    )
    caveats = (
        "Same tweets as TweetEval's offensive task (train+val), which tweeteval_hate_offensive no longer "
        "loads: TweetEval drops the B/C labels, so its 'offensive' copies of the UNT tweets would be unsafe.",
        "Crowd labels (3 annotators, no correction); OFF/TIN/OTH is the noisiest unsafe part.",
        "The OLID test files are not in this copy.",
        "@USER and URL placeholders are kept.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("olid-training-v1.0.tsv")
        for row in read_csv(path, delimiter="\t"):
            a, b, c = (_col(path, row, k).strip() for k in ("subtask_a", "subtask_b", "subtask_c"))
            key = _col(path, row, "id").strip()
            if (a, b) not in _OLID:
                raise SourceError(f"malformed labels in {path} id {key}: subtask_a={a!r} subtask_b={b!r}")
            text = _col(path, row, "tweet").strip()
            if text:
                yield self.record(key, [user(text)], "unsafe" if b == "TIN" else "safe", categories=HATE,
                                  original_labels={"subtask_a": a, "subtask_b": b, "subtask_c": c})


@register
class StormfrontHate(Source):
    name = "stormfront_hate"
    directory = "stormfront_hate"
    license = "CC BY-SA 3.0 ES (share-alike)"
    upstream = Upstream("github:Vicomtech/hate-speech-dataset", "b802137e8314c38a8d4faa965f9908d6c8e7a84d",
                        "all_files/, annotations_metadata.csv")
    kind = "prompt"
    style = "forum"
    description = ("de Gibert et al. (2018): 10,943 sentences from posts on the white-supremacist forum "
                   "Stormfront, manually labelled hate / noHate (most are not hate).")
    crosswalk = (
        Mapping("hate", HATE, "Sentence-level hate speech against a group."),
        Mapping("noHate", (), "Safe: forum talk on politics, race and news that is not hate speech."),
        Mapping("relation", (),
                "Skipped: hateful only together with other sentences of the post, which a sentence record "
                "does not show."),
        Mapping("idk/skip", (), "Skipped: the annotator gave no label."),
    )
    caveats = (
        "Read from all_files.jsonl (one line per original all_files/<file_id>.txt with its metadata "
        "label); relation (168) and idk/skip (72) sentences are skipped.",
        "Sentences of one post share the file-id prefix (postID_sentenceNo); the balanced sampled "
        "train/test membership is kept in original_labels['sampled_split'].",
        "Share-alike licence (CC BY-SA 3.0 Spain).",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("all_files.jsonl")
        for i, row in enumerate(_jsonl_rows(path, ("file_id", "text", "label"))):
            lab = str(row["label"])
            if lab not in ("hate", "noHate", "relation", "idk/skip"):
                raise SourceError(f"malformed label in {path} line {i + 1}: {lab!r}")
            text = str(row["text"] or "").strip()
            if lab in ("relation", "idk/skip") or not text:
                continue
            yield self.record(str(row["file_id"]), [user(text)], "unsafe" if lab == "hate" else "safe",
                              categories=HATE, original_labels={"label": lab,
                                                               "sampled_split": row.get("sampled_split")})
