"""Harmful-request prompt sets (all-unsafe collections of instructions an assistant should refuse)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from ..registry import register
from ..schema import (Mapping, Record, Source, SourceError, Upstream, read_csv, read_json, read_lines,
                      user)


@register
class StrongReject(Source):
    name = "strongreject"
    directory = "strongreject"
    license = "MIT"
    upstream = Upstream("github:alexandrasouly/strongreject", "",
                        "strongreject_dataset/strongreject_dataset.csv")
    description = "StrongREJECT forbidden prompts (313), 6 categories."
    crosswalk = (
        Mapping("Non-violent crimes", ("unethical_nonviolent",),
                "StrongREJECT's non-violent crimes are fraud, theft, hacking; cyber items are kept "
                "in unethical_nonviolent because the label does not separate them."),
        Mapping("Violence", ("weapons_drugs_physical_harm",)),
        Mapping("Disinformation and deception", ("misinformation",)),
        Mapping("Hate, harassment and discrimination", ("hate_harassment",)),
        Mapping("Illegal goods and services", ("weapons_drugs_physical_harm",),
                "Mostly drugs and weapons purchase/manufacture."),
        Mapping("Sexual content", ("sexual_content",)),
    )

    def records(self) -> Iterator[Record]:
        for i, row in enumerate(read_csv(self.file("strongreject_dataset.csv"))):
            yield self.record(str(i), [user(row["forbidden_prompt"])], "unsafe",
                              categories=self.map_label(row["category"]),
                              original_labels={"category": row["category"], "source": row["source"]})


# -- AdvBench / adv-training behaviors, MaliciousInstruct, HarmfulQ, AILuminate demo, AART ---------------

def _text_rows(path: Path, rows: list[dict[str, str]], column: str) -> list[dict[str, str]]:
    """Check a CSV has ``column``; a missing column is a malformed file (named)."""
    if rows and column not in rows[0]:
        raise SourceError(f"malformed CSV {path}: no {column!r} column (have {sorted(rows[0])})")
    return rows


@register
class AdvBenchTDC2023(Source):
    name = "advbench_tdc2023"
    directory = "advbench_tdc2023"
    license = "MIT"
    upstream = Upstream("github:busycalibrating/AdversariaLLM", "f970939273ea17b491fadf6001fddc36ed3ae3ff",
                        "data/behavior_datasets/extra_behavior_datasets/")
    description = ("AdvBench harmful behaviors (520) and the adv-training behaviors (100, HarmBench extra set), "
                   "HarmBench-format copies. All unsafe; no categories.")
    crosswalk = (
        Mapping("(behavior)", (),
                "Every row is a harmful behavior; the Category column is empty in both files, so "
                "records are unsafe with no category (binary only)."),
    )
    caveats = (
        "tdc2023_test_phase_behaviors.csv repeats HarmBench behaviors (kept back) and is never loaded.",
        "advbench_behaviors.csv is repeated verbatim by princeton_jailbreak_llm/advbench.txt (builder dedups).",
        "JailbreakBench (kept back) drew some behaviors from AdvBench; near-duplicates are possible.",
        "AdvBench is known for many near-paraphrased behaviors (bomb-making, hacking variants).",
    )
    # tdc2023_test_phase_behaviors.csv: KEPT BACK (repeats HarmBench behaviors) -- deliberately not read.
    FILES = (("advbench_behaviors.csv", "advbench"), ("adv_training_behaviors.csv", "adv_training"))

    def records(self) -> Iterator[Record]:
        for fname, subset in self.FILES:
            path = self.file(fname)
            rows = _text_rows(path, read_csv(path), "Behavior")
            for i, row in enumerate(rows):
                text = (row.get("Behavior") or "").strip()
                if not text:
                    continue
                key = (row.get("BehaviorID") or "").strip() or str(i)
                yield self.record(key, [user(text)], "unsafe", subset=subset,
                                  original_labels={"BehaviorID": key})


#: MaliciousInstruct's 100 lines come in 10 blocks of 10, one per intent, in the paper's order
#: (checked by reading the file: lines 1-10 manipulation, 11-20 sabotage, ..., 91-100 drug use).
MALICIOUS_INSTRUCT_INTENTS = (
    "psychological manipulation", "sabotage", "theft", "defamation", "cyberbullying",
    "false accusation", "tax fraud", "hacking", "fraud", "illegal drug use",
)


@register
class PrincetonJailbreakLLM(Source):
    name = "princeton_jailbreak_llm"
    directory = "princeton_jailbreak_llm"
    license = "none stated in repo (AdvBench itself is MIT)"
    upstream = Upstream("github:Princeton-SysML/Jailbreak_LLM", "1e490531c0ef4bc13430178bf1fbc8f813e34b1a",
                        "data/")
    description = ("MaliciousInstruct (100 harmful instructions, 10 intents) and the repo's copy of "
                   "AdvBench (520). All unsafe.")
    crosswalk = (
        Mapping("psychological manipulation", ("unethical_nonviolent",),
                "Manipulating, guilt-tripping, brainwashing someone: non-violent wrongdoing."),
        Mapping("sabotage", ("unethical_nonviolent",),
                "Mostly business/reputation sabotage; 2 of 10 lines (car sabotage, causing an accident) "
                "are physical harm but the intent label does not separate them."),
        Mapping("theft", ("unethical_nonviolent",)),
        Mapping("defamation", ("misinformation",), "Llama Guard S5 Defamation -> misinformation."),
        Mapping("cyberbullying", ("hate_harassment",), "Online harassment and bullying."),
        Mapping("false accusation", ("misinformation",),
                "Fabricated accusations that harm a person's reputation: treated as defamation (S5)."),
        Mapping("tax fraud", ("unethical_nonviolent",)),
        Mapping("hacking", ("cyberattack",), "Phishing, DoS, keyloggers, SQL injection, ransomware."),
        Mapping("fraud", ("unethical_nonviolent",), "Scams, Ponzi/pyramid schemes, fake invoices."),
        Mapping("illegal drug use", ("weapons_drugs_physical_harm",)),
        Mapping("advbench", (), "The AdvBench copy has no categories (binary only)."),
    )
    caveats = (
        "MaliciousInstruct intents are not in the file: they are assigned by line block (10 lines per "
        "intent, in the paper's order), and only when the file has exactly 100 lines.",
        "advbench.txt repeats advbench_tdc2023/advbench_behaviors.csv verbatim; loaded as subset "
        "'advbench' and removed by the builder's deduplication.",
        "No license file in the repository.",
    )

    def records(self) -> Iterator[Record]:
        lines = read_lines(self.file("MaliciousInstruct.txt"))
        blocks = len(lines) == 10 * len(MALICIOUS_INSTRUCT_INTENTS)
        for i, text in enumerate(lines):
            intent = MALICIOUS_INSTRUCT_INTENTS[i // 10] if blocks else None
            yield self.record(str(i), [user(text)], "unsafe", subset="MaliciousInstruct",
                              categories=self.map_label(intent) if intent else [],
                              original_labels={"intent": intent} if intent else {})
        for i, text in enumerate(read_lines(self.file("advbench.txt"))):
            yield self.record(str(i), [user(text)], "unsafe", subset="advbench")


@register
class HarmfulQ(Source):
    name = "harmful_q_cot_bias"
    directory = "harmful_q_cot_bias"
    license = "MIT"
    upstream = Upstream("github:SALT-NLP/chain-of-thought-bias", "e92a0efeb94e64eb68586d5c04a25af1415282d2",
                        "data/dangerous-q/toxic_outs.json")
    description = "HarmfulQ: 200 short harmful questions (Shaikh et al. 2022). All unsafe, no categories."
    crosswalk = (Mapping("(question)", (), "All 200 questions are harmful; no category labels."),)
    caveats = ("Short, generic questions generated with an LLM; several are mild (e.g. revenge, insults).",)

    def records(self) -> Iterator[Record]:
        path = self.file("toxic_outs.json")
        data = read_json(path)
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise SourceError(f"malformed HarmfulQ file {path}: expected a JSON list of strings")
        for i, text in enumerate(data):
            if text.strip():
                yield self.record(str(i), [user(text.strip())], "unsafe")


@register
class AILuminateDemo(Source):
    name = "ailuminate_demo"
    directory = "ailuminate_demo"
    license = "CC BY 4.0"
    upstream = Upstream("github:mlcommons/ailuminate", "769cc2be9d20c8d4fb26ce53b68865ed41dfb8e2",
                        "airr_official_1.0_demo_*_prompt_set_release.csv")
    description = ("MLCommons AILuminate v1.0 DEMO prompts: 1,200 en_US + 1,200 fr_FR hazard prompts over "
                   "12 hazards (+4 specialized-advice sub-hazards), skilled/unskilled personas.")
    crosswalk = (
        Mapping("vcr", ("weapons_drugs_physical_harm",), "Violent crimes = Llama Guard S1."),
        Mapping("ncr", ("unethical_nonviolent",),
                "Non-violent crimes = S2. AILuminate's ncr also covers cyber crime, which the label does "
                "not separate, so nothing is routed to cyberattack."),
        Mapping("src", ("sexual_content",), "Sex-related crimes = S3 -> sexual_content (sex crimes)."),
        Mapping("cse", ("child_abuse",), "Child sexual exploitation = S4."),
        Mapping("dfm", ("misinformation",), "Defamation = S5 -> misinformation."),
        Mapping("spc_fin", ("misinformation",),
                "Specialized advice (financial) = S6 -> misinformation. Many prompts are ordinary "
                "advice questions whose hazard lies in an unqualified answer: weak label."),
        Mapping("spc_hlt", ("misinformation",), "Specialized advice (health) = S6; weak label (see spc_fin)."),
        Mapping("spc_lgl", ("misinformation",), "Specialized advice (legal) = S6; weak label (see spc_fin)."),
        Mapping("spc_ele", ("misinformation",),
                "Specialized advice (elections) = S6/S13 Elections -> misinformation; weak label."),
        Mapping("prv", ("sensitive_information",), "Privacy = S7."),
        Mapping("ipv", ("copyright",), "Intellectual property = S8."),
        Mapping("iwp", ("weapons_drugs_physical_harm",), "Indiscriminate weapons (CBRNE) = S9."),
        Mapping("hte", ("hate_harassment",), "Hate = S10."),
        Mapping("ssh", ("self_harm",), "Suicide & self-harm = S11."),
        Mapping("sxc_prn", ("sexual_content",), "Sexual content (pornographic) = S12."),
    )
    caveats = (
        "AILuminate judges RESPONSES; its prompts are hazard-area prompts, and some (especially the "
        "specialized-advice spc_* ones and some 'unskilled' persona prompts) are benign-looking questions. "
        "spc_* records are marked weak_label.",
        "Some 'skilled' prompts wrap the request in jailbreak-style framing, but the file has no "
        "adversarial flag, so no record carries prompt_attack.",
        "French records (fr_FR) are yielded with language 'fr' (evaluation only in the builder).",
    )
    FILES = (("airr_official_1.0_demo_en_us_prompt_set_release.csv", "en_US", "en"),
             ("airr_official_1.0_demo_fr_fr_prompt_set_release.csv", "fr_FR", "fr"))

    def records(self) -> Iterator[Record]:
        known = {m.original for m in self.crosswalk}
        for fname, locale, lang in self.FILES:
            path = self.file(fname)
            rows = _text_rows(path, read_csv(path), "prompt_text")
            for i, row in enumerate(rows):
                text = (row.get("prompt_text") or "").strip()
                if not text:
                    continue
                hazard = (row.get("hazard") or "").strip()
                if hazard not in known:
                    raise SourceError(f"unknown AILuminate hazard {hazard!r} in {path} row {i}")
                key = (row.get("release_prompt_id") or "").strip() or str(i)
                yield self.record(key, [user(text)], "unsafe", categories=self.map_label(hazard),
                                  language=lang, subset=locale,
                                  original_labels={"hazard": hazard, "persona": row.get("persona", ""),
                                                   "locale": row.get("locale", locale)},
                                  weak_label=hazard.startswith("spc_"))


_CSAM = re.compile(r"\bchild (pornography|sexual abuse)|\brap(e|ing) (a |an )?(child|minor|young girl|"
                   r"underage)", re.IGNORECASE)


@register
class AART(Source):
    name = "aart"
    directory = "aart"
    license = "CC BY 4.0"
    upstream = Upstream("github:google-research-datasets/aart-ai-safety-dataset",
                        "fcdb2a8a3343a992cd8cbfd53eac797ac047c26f", "aart-v1-20231117.csv")
    description = ("Google AART demonstration set: 3,269 LLM-generated adversarial prompts, each steered by "
                   "one of 70 crime/harm concepts, a region, a use case and a medium keyword.")
    weak_labels = True
    _nv = ("unethical_nonviolent",)
    _phys = ("weapons_drugs_physical_harm",)
    _terror = ("terrorism_organized_crime",)
    crosswalk = (
        Mapping("acts of violence committed for political or ideological purposes", _terror,
                "Political violence = terrorism/extremism."),
        Mapping("terrorism", _terror),
        Mapping("bombings", ("terrorism_organized_crime", "weapons_drugs_physical_harm"),
                "Bomb-making and bombing public targets: explosives (physical harm) and terror attacks."),
        Mapping("hijackings", ("terrorism_organized_crime", "weapons_drugs_physical_harm"),
                "Plane/train/vehicle hijacking: violent crime, classically a terror tactic."),
        Mapping("cyberterrorism", ("cyberattack",),
                "Despite the name the prompts are ordinary cyber crime (phishing, botnets, even VPN use); "
                "routed to cyberattack only, not to the held-out terrorism category."),
        Mapping("violence", _phys), Mapping("assault", _phys), Mapping("murder", _phys),
        Mapping("kidnapping", _phys), Mapping("kidnappings", _phys), Mapping("domestic violence", _phys),
        Mapping("assassinations", _phys,
                "Assassinating politicians/officials: violent crime; not labelled terrorism because the "
                "concept does not imply an ideological motive."),
        Mapping("robbery", _phys, "Theft by force or threat = violent crime (S1)."),
        Mapping("arson", _phys,
                "Setting fires, Molotov cocktails: endangers life (Llama Guard lists arson under property "
                "crimes, but the prompts are about incendiary harm)."),
        Mapping("water contamination", _phys, "Contaminating/poisoning water supplies: physical harm."),
        Mapping("drug abuse", _phys), Mapping("drug addiction", _phys), Mapping("drug crimes", _phys),
        Mapping("drug dealing", _phys), Mapping("drug manufacturing", _phys), Mapping("drug possession", _phys),
        Mapping("drug trafficking", ("weapons_drugs_physical_harm", "terrorism_organized_crime"),
                "Drugs plus trafficking/smuggling networks (organized crime)."),
        Mapping("driving under the influence", _phys),
        Mapping("alcohol abuse", _phys, "Drunk driving, bootleg alcohol, underage drinking: substance harm."),
        Mapping("smoking", _phys,
                "Evading smoking bans, smoking cannabis, contraband cigarettes: substance use. Low-severity."),
        Mapping("animal abuse", ("animal_abuse",)), Mapping("animal cruelty", ("animal_abuse",)),
        Mapping("animal neglect", ("animal_abuse",)), Mapping("cockfighting", ("animal_abuse",)),
        Mapping("dog fighting", ("animal_abuse",)),
        Mapping("circuses", ("animal_abuse",),
                "Prompts are about abusing or stealing circus animals; some are benign (starting a circus)."),
        Mapping("horse racing", _nv,
                "Cheating, bribing officials, doping horses to fix races; several prompts are benign "
                "('make money from horse racing')."),
        Mapping("gambling", _nv, "Cheating at casinos/poker, laundering money through gambling."),
        Mapping("burglary", _nv), Mapping("theft", _nv), Mapping("shoplifting", _nv),
        Mapping("property crimes", _nv), Mapping("vandalism", _nv),
        Mapping("corporate fraud", _nv), Mapping("credit card fraud", _nv), Mapping("embezzlement", _nv),
        Mapping("financial crimes", _nv), Mapping("fraud", _nv), Mapping("identity theft", _nv),
        Mapping("ponzi schemes", _nv), Mapping("pyramid schemes", _nv), Mapping("tax evasion", _nv),
        Mapping("money laundering", _nv,
                "Financial crime (S2); kept out of organized crime because the prompts are about the "
                "laundering technique, not criminal organizations."),
        Mapping("environmental crimes", _nv,
                "Illegal dumping of toxic waste, deforestation, bribing regulators: non-violent crime."),
        Mapping("illegal dumping", _nv, "Dumping hazardous waste: environmental crime (non-violent)."),
        Mapping("landfills", _nv, "Prompts are about illegally dumping hazardous waste: environmental crime."),
        Mapping("pollution", _nv, "Dumping waste, evading pollution rules: environmental crime."),
        Mapping("air pollution", _nv, "Evading air-pollution regulations (e.g. burning coal)."),
        Mapping("climate change", _nv,
                "Prompts are about dumping toxic waste and bribing officials over environmental rules."),
        Mapping("hate crimes", ("hate_harassment",),
                "Committing hate crimes against groups; the violence aspect is not separated."),
        Mapping("crimes motivated by race", ("hate_harassment",)),
        Mapping("crimes motivated by religion", ("hate_harassment",)),
        Mapping("crimes motivated by sexual orientation", ("hate_harassment",)),
        Mapping("crimes motivated by gender identity", ("hate_harassment",)),
        Mapping("crimes motivated by disability", ("hate_harassment",)),
        Mapping("rape", ("sexual_content",),
                "Sex crime = Llama Guard S3 -> sexual_content. Prompts about raping a child/minor also get "
                "child_abuse (phrase rule, see caveats)."),
        Mapping("prostitution", ("sexual_content",), "Soliciting/organizing prostitution: sex-related crime (S3)."),
        Mapping("pornography", ("sexual_content",),
                "39 of 45 prompts ask for child sexual abuse material: those get child_abuse through the "
                "documented phrase rule; the rest are adult/revenge porn (a few are benign, e.g. an "
                "OnlyFans account or an ethics paper)."),
        Mapping("sex trafficking", ("sexual_content", "terrorism_organized_crime"),
                "Sex trafficking = sex-related crime (S3) run by trafficking networks (organized crime)."),
        Mapping("human trafficking", _terror, "Trafficking networks = organized crime."),
        Mapping("labor trafficking", _terror, "Forced-labor trafficking = organized crime."),
        Mapping("organ trafficking", _terror, "Black-market organ trade = organized crime."),
        Mapping("migrant smuggling", _terror, "People-smuggling networks = organized crime."),
        Mapping("child trafficking", ("child_abuse", "terrorism_organized_crime"),
                "Exploitation of minors by trafficking networks."),
        Mapping("other crimes", (),
                "Unmappable: a grab-bag (scams, tax evasion, murder, ...); unsafe with no category."),
    )
    caveats = (
        "Labels are generation targets, not human judgements: every prompt is unsafe by construction, "
        "but some generated prompts are benign (e.g. 'How can I use a VPN...', 'start a circus'), and "
        "some drift from their concept (a 'pornography' prompt about drug trafficking). weak_label.",
        "Categories come from the `crime` concept via the crosswalk. One documented phrase rule adds "
        "child_abuse when a prompt says 'child pornography', 'child sexual abuse' or 'rape/raping a "
        "child/minor/young girl/underage' (mostly in the 'pornography' and 'rape' concepts).",
        "'other crimes' (56) cannot be mapped and carries no category.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("aart-v1-20231117.csv")
        rows = _text_rows(path, read_csv(path), "prompt")
        known = {m.original for m in self.crosswalk}
        for i, row in enumerate(rows):
            text = (row.get("prompt") or "").strip()
            if not text:
                continue
            crime = (row.get("crime") or "").strip()
            if crime not in known:
                raise SourceError(f"unmapped AART crime concept {crime!r} in {path} row {i}: "
                                  f"add it to the crosswalk")
            cats = self.map_label(crime)
            if _CSAM.search(text):
                cats.append("child_abuse")
            yield self.record(str(i), [user(text)], "unsafe", categories=cats,
                              original_labels={"crime": crime, "region": row.get("region", ""),
                                               "use_case": row.get("use_case", ""),
                                               "medium_keyword": row.get("medium_keyword", "")})
