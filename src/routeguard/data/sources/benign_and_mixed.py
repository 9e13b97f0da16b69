"""Benign instruction sets (false-positive negatives) and mixed safe/unsafe prompt and response sets:
Safety-Tuned LLaMAs' I-* evaluation files and safety training pairs, SafeText, the refusal-direction
harmful/harmless splits, AlpacaEval, Self-Instruct, the Alpaca seed tasks, Code Alpaca, FigStep's
SafeBench and CoCoNot."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, ClassVar, Iterator

from ..registry import register
from ..schema import (Mapping, Record, Source, SourceError, Upstream, assistant, read_csv, read_json,
                      read_jsonl, user)


def _prompt(instruction: str, inp: str = "") -> str:
    """Alpaca-style instruction + optional input, joined as AlpacaEval joins them."""
    instruction, inp = instruction.strip(), (inp or "").strip()
    return f"{instruction}\n\n{inp}" if inp else instruction


def _need(path: Path, obj: Any, keys: tuple[str, ...], what: str) -> None:
    if not isinstance(obj, dict) or any(k not in obj for k in keys):
        raise SourceError(f"malformed {what} in {path}: expected an object with keys {list(keys)}")


def _json_list(path: Path, keys: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    data = read_json(path)
    if not isinstance(data, list):
        raise SourceError(f"malformed {what} file {path}: expected a JSON list")
    for row in data:
        _need(path, row, keys, what)
    return data


def _jsonl_list(path: Path, keys: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    data = read_jsonl(path)
    for row in data:
        _need(path, row, keys, what)
    return data


# -- Safety-Tuned LLaMAs ----------------------------------------------------------------------------

@register
class InstructionLLMsSafetyEval(Source):
    name = "instruction_llms_safety_eval"
    directory = "instruction_llms_safety_eval"
    license = "none stated in repo"
    upstream = Upstream("github:vinid/instruction-llms-safety-eval", "f4a5ffd11b03775bb40e4eeaa210f8326a53d57b",
                        "data/")
    kind = "mixed"
    weak_labels = True
    description = ("Safety-Tuned LLaMAs: six I-* evaluation files (568 prompts; label = file) and 2,483 "
                   "safety training pairs (harmful instruction + safe refusal/correction), emitted both as "
                   "unsafe prompts and as safe prompt+refusal responses.")
    crosswalk = (
        Mapping("I-CoNa", ("hate_harassment",), "CONAN-derived hate-speech instructions."),
        Mapping("I-Controversial", ("hate_harassment", "controversial_politics"),
                "'Explain why X are inferior / abortion is murder / immigrants should be deported': "
                "mostly discriminatory stereotypes on controversial topics, so both categories."),
        Mapping("I-MaliciousInstructions:hate", ("hate_harassment",), "Per-row tag 'hate'."),
        Mapping("I-MaliciousInstructions:crime", (),
                "Per-row tag 'crime' mixes physical harm, nuclear weapons, terrorism, doxxing, hacking, "
                "scams and cheating: no single category, so unsafe with no category."),
        Mapping("I-PhysicalSafetyUnsafe", ("weapons_drugs_physical_harm",),
                "Requests to justify physically dangerous advice (built from SafeText's unsafe advice)."),
        Mapping("I-Alpaca", (), "Safe: ordinary Alpaca instructions."),
        Mapping("I-PhysicalSafetySafe", (), "Safe: requests to justify SafeText's safe advice."),
        Mapping("training:prompt", (),
                "Training instruction, unsafe per the authors; no categories."),
        Mapping("training:response", (), "Safe: the refusal/correction written for that instruction."),
    )
    caveats = (
        "Labels are file-level (weak). The training instructions are unsafe per the authors, but some "
        "are benign (e.g. 'Research the inflation rate from the past year'); their prompt records are weak.",
        "Each training pair yields two records: the instruction as an unsafe prompt and the "
        "instruction + refusal as a SAFE response (a refusal is a safe response).",
        "I-PhysicalSafety* are rewrites of SafeText advice (same scenarios as the safetext source).",
        "I-MaliciousInstructions has 2 duplicated prompts; 4 training instructions recur (builder dedups).",
        "The saferpaca_* / alpaca_small training files (>=4 MiB) are absent.",
    )
    EVAL: ClassVar[tuple[tuple[str, str], ...]] = (
        ("I-Alpaca", "safe"), ("I-CoNa", "unsafe"), ("I-Controversial", "unsafe"),
        ("I-MaliciousInstructions", "unsafe"), ("I-PhysicalSafetySafe", "safe"),
        ("I-PhysicalSafetyUnsafe", "unsafe"),
    )

    def records(self) -> Iterator[Record]:
        for stem, label in self.EVAL:
            path = self.file(f"evaluation/{stem}.json")
            data = read_json(path)
            _need(path, data, ("instructions",), "I-* evaluation file")
            instr, tags = data["instructions"], data.get("tags")
            inputs = data.get("inputs") or []
            if not isinstance(instr, list) or (tags is not None and len(tags) != len(instr)):
                raise SourceError(f"malformed I-* evaluation file {path}: 'instructions'/'tags' mismatch")
            for i, text in enumerate(instr):
                prompt = _prompt(str(text), str(inputs[i]) if i < len(inputs) and inputs[i] else "")
                if not prompt:
                    continue
                orig: dict[str, Any] = {"file": stem}
                key = stem
                if tags is not None:
                    orig["tag"] = tags[i]
                    key = f"{stem}:{tags[i]}"
                yield self.record(str(i), [user(prompt)], label, subset=stem, original_labels=orig,
                                  categories=self.map_label(key) if label == "unsafe" else [])
        path = self.file("training/safety_only_data_Instructions.json")
        for i, row in enumerate(_json_list(path, ("instruction", "output"), "training pair")):
            prompt = _prompt(str(row["instruction"]), str(row.get("input") or ""))
            out = str(row["output"]).strip()
            if not prompt:
                continue
            yield self.record(f"{i}:prompt", [user(prompt)], "unsafe", subset="training",
                              original_labels={"file": "safety_only_data_Instructions", "role": "instruction"})
            if out:
                yield self.record(f"{i}:response", [user(prompt), assistant(out)], "safe", target="response",
                                  subset="training", weak_label=False,
                                  original_labels={"file": "safety_only_data_Instructions",
                                                   "role": "safe_response"})


# -- SafeText ---------------------------------------------------------------------------------------

@register
class SafeText(Source):
    name = "safetext"
    directory = "safetext"
    license = "MIT"
    upstream = Upstream("github:sharonlevy/SafeText", "25bb7a8c4a00634bc0ea1b5e85bec85cf32f36aa", "SafeText.json")
    kind = "response"
    description = ("SafeText physical-safety advice: 367 scenarios, each with safe and unsafe advice "
                   "continuations (1,095 safe / 370 unsafe), judged as assistant responses.")
    crosswalk = (
        Mapping("unsafe", ("weapons_drugs_physical_harm",),
                "Advice that would physically injure the person following it (douse eyes in vinegar, "
                "taste a wild mushroom)."),
        Mapping("safe", (), "Safe advice."),
    )
    caveats = (
        "SafeText is a text-continuation benchmark: the user turn is the scenario prefix verbatim "
        "(e.g. 'To remove redness from eyes,') and the assistant turn is the full advice sentence "
        "(scenario + continuation).",
        "Same scenarios as instruction_llms_safety_eval's I-PhysicalSafety* files.",
        "Unsafe advice is often subtle commonsense harm, not requests for weapons or drugs; it maps to "
        "the physical-harm category.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("SafeText.json")
        data = read_json(path)
        if not isinstance(data, dict):
            raise SourceError(f"malformed SafeText file {path}: expected a scenario -> advice object")
        for si, (scenario, advice) in enumerate(data.items()):
            if not isinstance(advice, dict) or not all(isinstance(advice.get(k, []), list)
                                                       for k in ("safe", "unsafe")):
                raise SourceError(f"malformed SafeText scenario {si} in {path}: expected safe/unsafe lists")
            prefix = str(scenario).strip()
            for label in ("safe", "unsafe"):
                for j, cont in enumerate(advice.get(label, [])):
                    cont = str(cont).strip()
                    if not prefix or not cont:
                        continue
                    yield self.record(f"{si}:{label}:{j}", [user(prefix), assistant(f"{prefix} {cont}")],
                                      label, target="response", categories=self.map_label(label),
                                      original_labels={"advice": label})


# -- Refusal direction -----------------------------------------------------------------------------

def _norm_hash(text: str) -> str:
    return hashlib.sha1(" ".join(re.findall(r"\w+", text.lower())).encode()).hexdigest()[:16]


@register
class RefusalDirection(Source):
    name = "refusal_direction_harmful_harmless"
    directory = "refusal_direction_harmful_harmless"
    license = ("no LICENSE in AdversariaLLM; harmless = Alpaca instructions (CC BY-NC 4.0); "
               "harmful = AdvBench etc. (MIT)")
    upstream = Upstream("github:busycalibrating/AdversariaLLM", "f970939273ea17b491fadf6001fddc36ed3ae3ff",
                        "data/refusal_direction/")
    non_commercial = True
    weak_labels = True
    description = ("Arditi et al. refusal-direction splits: harmful_train (unsafe) and harmless "
                   "train/val/test (Alpaca instructions, safe). Labels are file-level.")
    crosswalk = (
        Mapping("harmful", (), "File-level harmful label; category is null in harmful_train (binary only)."),
        Mapping("harmless", (), "Safe: Alpaca instructions."),
    )
    caveats = (
        "harmful_val.json and harmful_test.json repeat HarmBench/JailbreakBench behaviors (kept back) "
        "and are never loaded.",
        "harmful_train has 259 rows (MANIFEST: 260). 205 repeat AdvBench (117) or MaliciousInstruct (88) "
        "verbatim; the other 54 match neither and look like TDC-2023/HarmBench behaviors (kept back), so "
        "they are skipped by hash (EXCLUDE_SUSPECTED_KEPT_BACK).",
        "Harmless = Alpaca instructions (CC BY-NC 4.0): non-commercial. Some 'harmless' Alpaca rows are "
        "mildly sensitive; the labels are file-level (weak).",
    )
    # harmful_val.json / harmful_test.json: KEPT BACK (HarmBench / JailbreakBench / StrongREJECT) -- not read.
    FILES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("harmful_train", "unsafe"), ("harmless_train", "safe"), ("harmless_val", "safe"),
        ("harmless_test", "safe"))
    #: Normalised-text SHA-1 prefixes of the 54 harmful_train rows that are neither AdvBench nor
    #: MaliciousInstruct (suspected TDC-2023/HarmBench behaviors, which are kept back).
    EXCLUDE_SUSPECTED_KEPT_BACK: ClassVar[frozenset[str]] = frozenset("""
        06b7b4b15538248b 075c973a0f79630b 08eb08c3fcc3f195 1258141a5f3c3f14 14a12f5f005fce95 18ffb85c61de2523
        2083b651b787c64c 24597221b060eda6 24f2084c615ee539 27048ece1f58054b 28865ed5de1b49f9 28ade8567eac77d3
        2c94a5251b1d0a5a 302f3350804e4bff 3260e2a46a72c0c6 3954e8d3f83fe862 3abbc1616170951e 3d184fd23ae6b80c
        3d6d106108a02041 3f105f0226fdf0c6 44f379152a223c13 49af2b8700de20b1 4b042bde200608c6 4fe1963fd94b7de0
        5021b5703b665f9b 5136af64bbbbb900 5358602e743c4563 581212ee148487ed 5af7faec905ea8de 5c1712d57c3fad7e
        821c46a6d387a0c2 84ba8bc921442cc0 8a018fbcad582477 8b2c26a4a0b14267 8ba7bdf6006b35b8 8d8208cd07b8905f
        911c4505f2814e6b 9996c0e53e9d7d4c 99ca7bd2a7b08515 a055e62deb8df539 a07887700092f15d a76fc254ba62f934
        b025174b65685f46 b10e8dd051418bf6 ba65f6472f4dff8f c98da15f1a1e172b ca0dd3c748820f6e cf75f8785d289db4
        cf8a7dc93f44456a d434ad1fca17c992 d435051d87836b5b d77c79f720339615 de7dab2734cb4284 e27c96b7f6fe0290
        """.split())

    def records(self) -> Iterator[Record]:
        for stem, label in self.FILES:
            path = self.file(f"{stem}.json")
            for i, row in enumerate(_json_list(path, ("instruction",), "instruction")):
                text = str(row["instruction"]).strip()
                if not text:
                    continue
                if label == "unsafe" and _norm_hash(text) in self.EXCLUDE_SUSPECTED_KEPT_BACK:
                    continue
                yield self.record(str(i), [user(text)], label, subset=stem,
                                  original_labels={"file": stem, "category": row.get("category")})


# -- Benign instruction sets ------------------------------------------------------------------------

@register
class AlpacaEval(Source):
    name = "alpaca_eval"
    directory = "alpaca_eval"
    license = "Apache-2.0"
    upstream = Upstream("github:tatsu-lab/alpaca_eval", "cd543a149df89434d8a54582c0151c0b945c3d20",
                        "example/outputs.json")
    kind = "mixed"
    description = ("AlpacaEval's 805 benign instructions (selfinstruct, oasst, koala, helpful_base, vicuna) "
                   "as safe prompts, and their example outputs as safe responses.")
    crosswalk = (Mapping("(benign)", (), "Safe prompts and safe example responses."),)
    caveats = (
        "The 252 'selfinstruct' prompts are the self_instruct_user_oriented prompts (builder dedups).",
        "Underlying sets (OASST, Koala, Anthropic helpful-base, Vicuna) carry their own terms.",
        "helpful_base/oasst prompts include a few edgy-but-benign questions; all are labelled safe.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("outputs.json")
        for i, row in enumerate(_json_list(path, ("instruction", "output"), "AlpacaEval row")):
            prompt, out = str(row["instruction"]).strip(), str(row["output"]).strip()
            if not prompt:
                continue
            subset = str(row.get("dataset") or "")
            orig = {"dataset": subset, "generator": row.get("generator", "")}
            yield self.record(f"{i}:prompt", [user(prompt)], "safe", subset=subset, original_labels=orig)
            if out:
                yield self.record(f"{i}:response", [user(prompt), assistant(out)], "safe", target="response",
                                  subset=subset, original_labels=orig)


@register
class SelfInstructUserOriented(Source):
    name = "self_instruct_user_oriented"
    directory = "self_instruct_user_oriented"
    license = "Apache-2.0"
    upstream = Upstream("github:yizhongw/self-instruct", "0b26ccaa415992100fa32df62d41b994cf928e23",
                        "human_eval/user_oriented_instructions.jsonl")
    description = "Self-Instruct's 252 user-oriented instructions (+ instance input) as safe prompts."
    crosswalk = (Mapping("(benign)", (), "Safe prompts."),)
    caveats = ("Same prompts as alpaca_eval's 'selfinstruct' subset (builder dedups).",
               "Prompt = instruction + blank line + instance input, as AlpacaEval joins them.")

    def records(self) -> Iterator[Record]:
        path = self.file("user_oriented_instructions.jsonl")
        for i, row in enumerate(_jsonl_list(path, ("instruction",), "Self-Instruct task")):
            inst = row.get("instances") or [{}]
            prompt = _prompt(str(row["instruction"]), str(inst[0].get("input") or ""))
            if prompt:
                yield self.record(str(row.get("id") or i), [user(prompt)], "safe",
                                  original_labels={"motivation_app": row.get("motivation_app", "")})


@register
class AlpacaSeedTasks(Source):
    name = "alpaca_seed_tasks"
    directory = "alpaca_seed_tasks"
    license = "CC BY-NC 4.0"
    upstream = Upstream("github:tatsu-lab/stanford_alpaca", "761dc5bfbdeeffa89b8bff5d038781a4055f796a",
                        "seed_tasks.jsonl")
    non_commercial = True
    description = "Stanford Alpaca's 175 seed tasks (instruction + first instance input) as safe prompts."
    crosswalk = (Mapping("(benign)", (), "Safe prompts."),)
    caveats = ("CC BY-NC 4.0: non-commercial.", "alpaca_data.json (>=4 MiB) is absent.")

    def records(self) -> Iterator[Record]:
        path = self.file("seed_tasks.jsonl")
        for i, row in enumerate(_jsonl_list(path, ("instruction",), "seed task")):
            inst = row.get("instances") or [{}]
            prompt = _prompt(str(row["instruction"]), str(inst[0].get("input") or ""))
            if prompt:
                yield self.record(str(row.get("id") or i), [user(prompt)], "safe",
                                  original_labels={"name": row.get("name", ""),
                                                   "is_classification": row.get("is_classification")})


@register
class CodeAlpaca(Source):
    name = "codealpaca"
    directory = "codealpaca"
    license = "CC BY-NC 4.0"
    upstream = Upstream("github:sahil280114/codealpaca", "2f78ddc5c682ed6738ad092bbbfa59ba915afcb0", "data/")
    non_commercial = True
    description = ("Code Alpaca benign coding instructions (+ input): code_alpaca_2k (2,017) and "
                   "new_codealpaca (4,535), as safe prompts - negatives for the cyber expert - and, with "
                   "their answers, as safe code responses (style 'code').")
    crosswalk = (Mapping("(benign)", (), "Safe prompts; their answers are safe responses."),)
    caveats = ("CC BY-NC 4.0: non-commercial.", "code_alpaca_20k.json (>=4 MiB) is absent.",
               "The two files share some instructions (builder dedups).",
               "Each answered row is also a response record (id suffix ':answer'): without benign code "
               "answers, every code response in training was SVEN or CyberSecEval, and benign code "
               "answers were flagged (held-out HumanEval-X solutions).")
    FILES: ClassVar[tuple[str, ...]] = ("code_alpaca_2k", "new_codealpaca")

    def records(self) -> Iterator[Record]:
        for stem in self.FILES:
            path = self.file(f"{stem}.json")
            for i, row in enumerate(_json_list(path, ("instruction",), "Code Alpaca row")):
                prompt = _prompt(str(row["instruction"]), str(row.get("input") or ""))
                if prompt:
                    yield self.record(str(i), [user(prompt)], "safe", subset=stem)
                    answer = str(row.get("output") or "").strip()
                    if answer:
                        yield self.record(f"{i}:answer", [user(prompt), assistant(answer)], "safe",
                                          target="response", subset=stem, style="code")


# -- FigStep SafeBench ------------------------------------------------------------------------------

@register
class FigStepSafeBench(Source):
    name = "figstep_safebench"
    directory = "figstep_safebench"
    license = "MIT"
    upstream = Upstream("github:ThuCCSLab/FigStep", "0861b17b3d67887c06ee3534ec65b3012f9becb7", "data/question/")
    kind = "prompt"
    description = ("FigStep SafeBench (text side): 500 harmful questions in 10 categories, each also as its "
                   "'Steps to ...' instruction rephrasing (both unsafe), plus the 50 benign template "
                   "sentences with the harmful phrase removed (safe).")
    crosswalk = (
        Mapping("Illegal Activity", (),
                "Heterogeneous (drug manufacture, organ trade, terrorist recruitment, kidnapping, child "
                "exploitation, WMD trafficking): no single category, unsafe with no category."),
        Mapping("Hate Speech", ("hate_harassment",)),
        Mapping("Malware Generation", ("cyberattack",)),
        Mapping("Physical Harm", ("weapons_drugs_physical_harm",)),
        Mapping("Fraud", ("unethical_nonviolent",)),
        Mapping("Adult Content", ("sexual_content",)),
        Mapping("Privacy Violation", ("sensitive_information",)),
        Mapping("Legal Opinion", ("misinformation",),
                "Tailored legal advice = Llama Guard S6 Specialized Advice -> misinformation. Most are "
                "ordinary questions ('What clauses should I include in my rental agreement?'): weak label."),
        Mapping("Financial Advice", ("misinformation",),
                "Tailored financial advice = S6 -> misinformation; ordinary questions, weak label."),
        Mapping("Health Consultation", ("misinformation",),
                "Tailored medical advice = S6 -> misinformation; ordinary questions, weak label."),
        Mapping("benign template", (), "Safe: the instruction with its harmful phrase replaced by '*'."),
    )
    caveats = (
        "Images (the actual FigStep attack) are absent; only text is loaded, so nothing is prompt_attack.",
        "Legal Opinion / Financial Advice / Health Consultation follow OpenAI's usage policy (no tailored "
        "advice); as guard labels they are questionable, so those 300 records are weak_label.",
        "SafeBench-Tiny.csv is a 50-row subset of safebench.csv and is not loaded (duplicate).",
        "The question and its 'Steps to ...' instruction are near-paraphrases (same task id).",
    )
    _WEAK: ClassVar[frozenset[str]] = frozenset({"Legal Opinion", "Financial Advice", "Health Consultation"})

    def records(self) -> Iterator[Record]:
        known = {m.original for m in self.crosswalk}
        path = self.file("question/safebench.csv")
        rows = read_csv(path)
        if rows and not {"question", "instruction", "category_name"} <= set(rows[0]):
            raise SourceError(f"malformed SafeBench CSV {path}: needs question/instruction/category_name")
        # question/SafeBench-Tiny.csv: a subset of safebench.csv -- skipped as a duplicate.
        for i, row in enumerate(rows):
            cat = (row.get("category_name") or "").strip()
            if cat not in known:
                raise SourceError(f"unknown SafeBench category {cat!r} in {path} row {i}")
            tid = f"{row.get('category_id', '')}-{row.get('task_id', '') or i}"
            orig = {"category_name": cat, "category_id": row.get("category_id", ""),
                    "task_id": row.get("task_id", "")}
            for field in ("question", "instruction"):
                text = (row.get(field) or "").strip()
                if text:
                    yield self.record(f"{tid}:{field}", [user(text)], "unsafe", subset=f"safebench_{field}",
                                      categories=self.map_label(cat), original_labels=orig,
                                      weak_label=cat in self._WEAK)
        path = self.file("question/benign_sentences_without_harmful_phase.csv")
        rows = read_csv(path)
        if rows and "sentence" not in rows[0]:
            raise SourceError(f"malformed CSV {path}: no 'sentence' column")
        for i, row in enumerate(rows):
            text = (row.get("sentence") or "").strip()
            if text:
                yield self.record(str(i), [user(text)], "safe", subset="benign_template",
                                  original_labels={"file": "benign_sentences_without_harmful_phase"})


# -- CoCoNot ---------------------------------------------------------------------------------------

_SAFETY = "Requests with safety concerns"


@register
class CoCoNot(Source):
    name = "coconot"
    directory = "coconot"
    license = "MIT"
    upstream = Upstream("github:allenai/noncompliance", "25bf77cc668814360405cdb8197c4368205806c7", "data/")
    kind = "mixed"
    description = ("CoCoNot: the original noncompliance eval set (1,001; only safety-concern subcategories "
                   "are unsafe), the contrast eval set (379) and preference set (927) of benign look-alikes "
                   "(safe prompts), plus the preference set's chosen GPT-4 answers as safe responses.")
    crosswalk = (
        Mapping("Requests with safety concerns/dangerous or sensitive topics", (),
                "Unsafe, no category: mixes violence against others, explosives, meth, suicide methods, "
                "hacking a partner's account, fake IDs and risky home medicine/self-surgery. Some are "
                "harm-reduction questions a guard should let through (e.g. naloxone dosage): weak label."),
        Mapping("Requests with safety concerns/privacy violations", ("sensitive_information",),
                "Requests for private individuals' addresses, card numbers, licence numbers."),
        Mapping("Requests with safety concerns/misinformation", ("misinformation",),
                "Requests to assert or 'prove' false claims (flat Earth, climate hoax)."),
        Mapping("Requests with safety concerns/copyright violations", ("copyright",),
                "Requests for full copyrighted scripts/books/lyrics."),
        Mapping("Requests with safety concerns/triggers for offensive language", ("hate_harassment",),
                "Requests to produce slurs and group stereotypes."),
        Mapping("Requests with safety concerns/wildchats", (),
                "Unsafe, no category: real WildChat requests, mostly sexual content, some insults/hate, "
                "but a few are benign ('what is my ip address'): weak label."),
        Mapping("Requests with safety concerns/incomprehensible", ("prompt_attack",),
                "The single row is gibberish plus a GCG-style adversarial suffix: an attack string."),
        Mapping("Incomplete requests/*", (), "SAFE: false presuppositions, underspecified, incomprehensible "
                "requests call for clarification, not refusal on safety grounds."),
        Mapping("Unsupported requests/*", (), "SAFE: modality, length or temporal limitations are not harm."),
        Mapping("Indeterminate requests/*", (), "SAFE: subjective questions and universal unknowns."),
        Mapping("Humanizing requests/*", (), "SAFE: asking the model's personal opinions/feelings is not harm."),
        Mapping("contrast set (any category)", (),
                "SAFE: coconot_contrast_eval and coconot_pref prompts are benign look-alikes that should "
                "be answered, whatever their (look-alike) category."),
    )
    caveats = (
        "Noncompliance is not harm: only the 'Requests with safety concerns' rows of coconot_eval are "
        "unsafe (395 of 1,001); incomplete/unsupported/indeterminate/humanizing requests are safe.",
        "prompts/safety_contrast_seed_prompts.json repeats XSTest prompts (homonyms, figurative language, "
        "safe targets/contexts, privacy public/fictional) and XSTest is kept back: never loaded.",
        "coconot_train.jsonl (>4 MiB) is absent.",
        "The upstream files carry mojibake (e.g. 'Beyonc√©'); text is kept verbatim.",
        "coconot_pref's chosen responses (GPT-4 answers to benign look-alikes) are emitted as safe "
        "response records; the rejected (over-refusing) answers are not loaded.",
    )
    _WEAK: ClassVar[frozenset[str]] = frozenset({"dangerous or sensitive topics", "wildchats"})

    def _eval_labels(self, category: str, sub: str) -> tuple[str, list[str], bool]:
        if category != _SAFETY:
            return "safe", [], False
        key = f"{category}/{sub}"
        if key not in {m.original for m in self.crosswalk}:
            raise SourceError(f"unmapped CoCoNot safety subcategory {sub!r} in "
                              f"{self.path / 'coconot_eval.jsonl'}: add it to the crosswalk")
        return "unsafe", self.map_label(key), sub in self._WEAK

    def records(self) -> Iterator[Record]:
        keys = ("id", "category", "subcategory", "prompt")
        # prompts/safety_contrast_seed_prompts.json: repeats XSTest (kept back) -- deliberately not read.
        path = self.file("coconot_eval.jsonl")
        for i, row in enumerate(_jsonl_list(path, keys, "CoCoNot row")):
            text = str(row["prompt"]).strip()
            if not text:
                continue
            label, cats, weak = self._eval_labels(str(row["category"]), str(row["subcategory"]))
            yield self.record(str(row["id"] or i), [user(text)], label, categories=cats,
                              subset="coconot_eval", weak_label=weak,
                              original_labels={"category": row["category"], "subcategory": row["subcategory"]})
        path = self.file("coconot_contrast_eval.jsonl")
        for i, row in enumerate(_jsonl_list(path, keys, "CoCoNot row")):
            text = str(row["prompt"]).strip()
            if text:
                yield self.record(str(row["id"] or i), [user(text)], "safe", subset="coconot_contrast_eval",
                                  original_labels={"category": row["category"],
                                                   "subcategory": row["subcategory"]})
        path = self.file("coconot_pref.jsonl")
        for i, row in enumerate(_jsonl_list(path, keys, "CoCoNot row")):
            text = str(row["prompt"]).strip()
            if not text:
                continue
            orig = {"category": row["category"], "subcategory": row["subcategory"]}
            rid = str(row["id"] or i)
            yield self.record(f"{rid}:prompt", [user(text)], "safe", subset="coconot_pref", original_labels=orig)
            chosen = str(row.get("chosen") or "").strip()
            if chosen:
                yield self.record(f"{rid}:chosen", [user(text), assistant(chosen)], "safe", target="response",
                                  subset="coconot_pref",
                                  original_labels={**orig, "chosen_model": row.get("chosen_model", "")})
