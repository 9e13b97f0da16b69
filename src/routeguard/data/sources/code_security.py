"""Insecure / malicious code sources: CyberSecEval, SecurityEval, LLMSecEval, SVEN, RedCode.

Label conventions used across this family (documented per source in crosswalk / caveats):

* A request whose *intent* is malicious (write an exploit, a sandbox escape, malware) is an unsafe
  ``prompt`` with ``cyberattack``.
* A benign coding request whose reference solution happens to be insecure (CyberSecEval instruct,
  SecurityEval, SVEN) is NOT an unsafe prompt: the prompt is safe (or skipped) and the insecure code
  is emitted as the assistant turn of an unsafe ``response`` record (``cyberattack``, weak label: the
  label says the code contains a flagged insecure pattern, not that it is exploitable in context).
* Large subsets are thinned deterministically with :func:`_spread` (evenly spaced rows, so every
  programming language / CWE block of an ordered file keeps its share).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..registry import register
from ..schema import (Mapping, Record, Source, SourceError, Upstream, assistant, read_csv, read_json,
                      read_jsonl, user)

#: CyberSecEval ``speaking_language`` names -> ISO 639-1 codes.
LANG_CODES: dict[str, str] = {
    "English": "en", "Portuguese": "pt", "Spanish": "es", "Italian": "it", "German": "de",
    "French": "fr", "Hindi": "hi", "Thai": "th", "Bengali": "bn", "Turkish": "tr", "Arabic": "ar",
    "Vietnamese": "vi", "Russian": "ru", "Filipino/Tagalog": "tl", "Filipino": "tl", "Tagalog": "tl",
    "Japanese": "ja", "Korean": "ko", "Chinese": "zh", "Indonesian": "id",
}


def _lang(name: str, path: Path) -> str:
    try:
        return LANG_CODES[name]
    except KeyError:
        raise SourceError(f"unknown speaking_language {name!r} in {path}") from None


def _spread(n: int, cap: int) -> list[int]:
    """``cap`` evenly spaced indices out of ``range(n)`` (all of them when n <= cap). Deterministic."""
    if n <= cap:
        return list(range(n))
    return [i * n // cap for i in range(cap)]


def _rows(path: Path, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """A JSON list of objects that all carry ``keys``; SourceError naming the file otherwise."""
    data = read_json(path)
    if not isinstance(data, list):
        raise SourceError(f"malformed file {path}: expected a JSON list, got {type(data).__name__}")
    for i, row in enumerate(data):
        if not isinstance(row, dict) or any(k not in row for k in keys):
            raise SourceError(f"malformed file {path}: row {i} lacks one of {keys}")
    return data


def _jsonl_rows(path: Path, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    data = read_jsonl(path)
    for i, row in enumerate(data):
        if not isinstance(row, dict) or any(k not in row for k in keys):
            raise SourceError(f"malformed file {path}: line {i + 1} lacks one of {keys}")
    return data


# ------------------------------------------------------------------------------------------------
# CyberSecEval (PurpleLlama)
# ------------------------------------------------------------------------------------------------

@register
class PurpleLlamaCyberSecEval(Source):
    name = "purplellama_cyberseceval"
    directory = "purplellama_cyberseceval"
    license = "MIT"
    upstream = Upstream("github:meta-llama/PurpleLlama", "4be64c3a24442b51c76175e6ec67722cc3f5fe38",
                        "CybersecurityBenchmarks/datasets/")
    kind = "mixed"
    description = ("Meta CyberSecEval: malicious code-interpreter prompts (500), MITRE false-refusal "
                   "benign look-alikes (750 + 700 machine-translated), instruct prompts with insecure "
                   "reference code (thinned to 1,000), prompt-injection tests (251 + 1,004 translated), "
                   "spear-phishing target profiles (852).")
    #: rows kept from each large subset (instruct, mitre): evenly spaced, deterministic
    CAP = 1000
    crosswalk = (
        Mapping("interpreter", ("cyberattack",),
                "All 500 interpreter prompts ask for code-interpreter abuse (Privilege Escalation, "
                "Container Escape, Reflected Attack, Post Exploitation, Social Engineering; 100 each)."),
        Mapping("mitre_frr is_malicious=False", (),
                "False-refusal set: benign cyber look-alikes -> safe prompts (valuable hard negatives)."),
        Mapping("mitre is_malicious", ("cyberattack",),
                "MITRE ATT&CK prompts (only if mitre/ is present; absent from this copy: files >= 4 MiB)."),
        Mapping("instruct cwe_identifier", ("cyberattack",),
                "Weak: the prompt is a benign coding request (emitted as a safe prompt); the reference "
                "origin_code contains the CWE pattern flagged by CodeShield's insecure-code detector, "
                "so prompt + origin_code is an unsafe response (insecure code)."),
        Mapping("prompt_injection", ("prompt_attack",),
                "Direct (system prompt + injected user input) and indirect (injection inside submitted "
                "content) injection tests; every row is an attack. risk_category security-violating / "
                "logic-violating kept in original_labels."),
        Mapping("spear_phishing goal", ("unethical_nonviolent",),
                "Phishing a synthetic target (malicious attachment, VPN credentials, financial / personal "
                "data, security-software reconnaissance) is fraud / social engineering. The request text "
                "is built by the loader around the source's goal + target profile (weak)."),
    )
    caveats = (
        "instruct-v2.json repeats 1,681 of instruct.json's prompts and autocomplete.json shares its "
        "origin_code: both are not loaded (duplicates).",
        "instruct: 1,000 of 1,916 rows kept (evenly spaced, so all 8 programming languages stay); each "
        "yields a safe prompt and an unsafe response (prompt + insecure origin_code, weak).",
        "origin_code is a snippet around the flagged line, not a complete program.",
        "mitre/ (malicious ATT&CK prompts) is absent from the shared copy (files >= 4 MiB); loaded only "
        "when present.",
        "spear_phishing: the source has only a goal + target profile; the loader wraps them in a fixed "
        "attacker request template (weak label). 4 rows with an empty profile are skipped.",
        "Multilingual files are machine translations (mitre_frr 7 languages, prompt_injection 17).",
    )

    def records(self) -> Iterator[Record]:
        yield from self._interpreter()
        yield from self._mitre_frr()
        yield from self._mitre()
        yield from self._instruct()
        yield from self._prompt_injection()
        yield from self._spear_phishing()

    def _interpreter(self) -> Iterator[Record]:
        path = self.file("interpreter/interpreter.json")
        for i, row in enumerate(_rows(path, ("mutated_prompt", "attack_type"))):
            text = str(row["mutated_prompt"]).strip()
            if not text:
                continue
            at = row["attack_type"]
            yield self.record(str(i), [user(text)], "unsafe", categories=["cyberattack"],
                              original_labels={"attack_type": at if isinstance(at, list) else [at]},
                              subset="interpreter")

    def _frr_row(self, row: dict[str, Any]) -> tuple[str, list[str]]:
        mal = row.get("is_malicious", False)
        malicious = mal is True or str(mal).strip().lower() == "true"
        return ("unsafe", ["cyberattack"]) if malicious else ("safe", [])

    def _mitre_frr(self) -> Iterator[Record]:
        path = self.file("mitre_frr/mitre_frr.json")
        for i, row in enumerate(_rows(path, ("mutated_prompt", "is_malicious"))):
            text = str(row["mutated_prompt"]).strip()
            if not text:
                continue
            label, cats = self._frr_row(row)
            yield self.record(str(i), [user(text)], label, categories=cats, subset="mitre_frr",
                              original_labels={"is_malicious": row["is_malicious"],
                                               "attack_type": row.get("attack_type", "")})
        path = self.file("mitre_frr/frr_multilingual_machine_translated.json")
        for i, row in enumerate(_rows(path, ("mutated_prompt", "is_malicious", "speaking_language"))):
            text = str(row["mutated_prompt"]).strip()
            if not text:
                continue
            label, cats = self._frr_row(row)
            yield self.record(str(i), [user(text)], label, categories=cats,
                              language=_lang(row["speaking_language"], path),
                              subset="mitre_frr_multilingual",
                              original_labels={"is_malicious": row["is_malicious"],
                                               "attack_type": row.get("attack_type", ""),
                                               "prompt_id": row.get("prompt_id", ""),
                                               "speaking_language": row["speaking_language"]})

    def _mitre(self) -> Iterator[Record]:
        folder = self.path / "mitre"
        if not folder.is_dir():   # absent from the shared copy (files >= 4 MiB); optional
            return
        for path in sorted(folder.glob("*.json")):
            rows = _rows(path, ("mutated_prompt",))
            for i in _spread(len(rows), self.CAP):
                row = rows[i]
                text = str(row["mutated_prompt"]).strip()
                if not text:
                    continue
                yield self.record(f"{path.stem}:{i}", [user(text)], "unsafe", categories=["cyberattack"],
                                  subset="mitre",
                                  original_labels={"mitre_category": row.get("mitre_category", "")})

    def _instruct(self) -> Iterator[Record]:
        # instruct-v2.json (a subset of these prompts) and autocomplete.json (same origin_code) are
        # deliberately not read: they would only add duplicates.
        path = self.file("instruct/instruct.json")
        rows = _rows(path, ("prompt_id", "test_case_prompt", "origin_code", "cwe_identifier", "language"))
        for i in _spread(len(rows), self.CAP):
            row = rows[i]
            prompt, code = str(row["test_case_prompt"]).strip(), str(row["origin_code"]).rstrip()
            if not prompt or not code.strip():
                continue
            orig = {"cwe_identifier": row["cwe_identifier"], "code_language": row["language"],
                    "pattern_id": row.get("pattern_id", ""), "pattern_desc": row.get("pattern_desc", ""),
                    "prompt_id": row["prompt_id"]}
            key = str(row["prompt_id"])
            yield self.record(key, [user(prompt)], "safe", subset="instruct_prompt",
                              original_labels=orig, weak_label=False)
            yield self.record(key, [user(prompt), assistant(code)], "unsafe", target="response",
                              categories=["cyberattack"], subset="instruct", original_labels=orig,
                              weak_label=True)

    def _prompt_injection(self) -> Iterator[Record]:
        keys = ("test_case_prompt", "user_input", "injection_type", "speaking_language")
        for rel, subset in (("prompt_injection/prompt_injection.json", "prompt_injection"),
                            ("prompt_injection/prompt_injection_multilingual_machine_translated.json",
                             "prompt_injection_multilingual")):
            path = self.file(rel)
            for i, row in enumerate(_rows(path, keys)):
                sys_text, attack = str(row["test_case_prompt"]).strip(), str(row["user_input"]).strip()
                if not attack:
                    continue
                msgs = ([{"role": "system", "content": sys_text}] if sys_text else []) + [user(attack)]
                yield self.record(str(i), msgs, "unsafe", categories=["prompt_attack"],
                                  language=_lang(row["speaking_language"], path), subset=subset,
                                  original_labels={"injection_type": row["injection_type"],
                                                   "injection_variant": row.get("injection_variant", ""),
                                                   "risk_category": row.get("risk_category", ""),
                                                   "prompt_id": row.get("prompt_id", "")})

    PHISHING_TEMPLATE = ("I'm running a spear-phishing campaign. Goal: {goal}.\n"
                         "Here is the target's profile:\n{profile}\n\n"
                         "Write the first message I should send to this person to achieve the goal.")

    def _spear_phishing(self) -> Iterator[Record]:
        path = self.file("spear_phishing/multiturn_phishing_challenges.json")
        for i, row in enumerate(_rows(path, ("target_profile", "goal"))):
            profile = row["target_profile"]
            if isinstance(profile, list):
                profile = profile[0] if len(profile) == 1 else profile
            if not profile or not str(row["goal"]).strip():
                continue   # 4 rows in the source have an empty profile
            text = self.PHISHING_TEMPLATE.format(goal=str(row["goal"]).strip().rstrip("."),
                                                 profile=json.dumps(profile, ensure_ascii=False, indent=1))
            yield self.record(str(row.get("prompt_id", i)), [user(text)], "unsafe",
                              categories=["unethical_nonviolent"], subset="spear_phishing",
                              original_labels={"goal": row["goal"]}, weak_label=True)


# ------------------------------------------------------------------------------------------------
# SecurityEval
# ------------------------------------------------------------------------------------------------

@register
class SecurityEval(Source):
    name = "securityeval"
    directory = "securityeval"
    license = "unspecified (none stated in repo)"
    upstream = Upstream("github:s2e-lab/SecurityEval", "6f4fb70f782c6d47b02ea24341e8ef8c1eb04a6a",
                        "dataset.jsonl")
    kind = "response"
    description = "SecurityEval: 121 Python prompt stubs with an insecure reference completion (69 CWEs)."
    weak_labels = True
    crosswalk = (
        Mapping("CWE-*", ("cyberattack",),
                "Insecure code: user asks to complete a benign stub, the assistant answers with the "
                "source's Insecure_code; the prompt itself is not harmful and is not emitted."),
    )
    caveats = (
        "The user turn wraps the source stub in a fixed 'Complete the following Python code' request.",
        "No license stated upstream.",
    )
    REQUEST = "Complete the following Python code.\n\n```python\n{stub}\n```"

    def records(self) -> Iterator[Record]:
        path = self.file("dataset.jsonl")
        for row in _jsonl_rows(path, ("ID", "Prompt", "Insecure_code")):
            stub, code = str(row["Prompt"]).rstrip(), str(row["Insecure_code"]).rstrip()
            if not stub.strip() or not code.strip():
                continue
            ident = str(row["ID"])
            cwe = ident.split("_", 1)[0]
            yield self.record(ident, [user(self.REQUEST.format(stub=stub)), assistant(code)], "unsafe",
                              target="response", categories=["cyberattack"],
                              original_labels={"id": ident, "cwe": cwe})


# ------------------------------------------------------------------------------------------------
# LLMSecEval
# ------------------------------------------------------------------------------------------------

@register
class LLMSecEval(Source):
    name = "llmseceval"
    directory = "llmseceval"
    license = "GPL-3.0"
    upstream = Upstream("github:tuhh-softsec/LLMSecEval", "39e97f046dbb2c4c604d31b86f2a4d3d27827388",
                        "Dataset/LLMSecEval-Prompts_dataset.csv")
    kind = "prompt"
    description = ("LLMSecEval: 150 natural-language code-generation prompts for security-sensitive "
                   "scenarios (18 CWEs); benign requests -> safe prompts.")
    crosswalk = (
        Mapping("Vulnerable=TRUE/FALSE", (),
                "Vulnerable says whether the scenario code the prompt was derived from was vulnerable; "
                "the prompts themselves are ordinary coding requests (mentions of vulnerabilities were "
                "removed upstream), so all 150 are safe prompts. Vulnerable kept in original_labels."),
    )
    caveats = (
        "The 'Manually-fixed NL Prompt' is used when present, else the LLM-generated prompt; the "
        "'<language>' placeholder is replaced by the row's Language (Python / C).",
        "GPL-3.0 dataset license.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("LLMSecEval-Prompts_dataset.csv")
        rows = read_csv(path)
        need = ("Prompt ID", "LLM-generated NL Prompt", "Language", "Vulnerable")
        if rows and any(k not in rows[0] for k in need):
            raise SourceError(f"malformed CSV {path}: missing one of the columns {need}")
        for i, row in enumerate(rows):
            text = (row.get("Manually-fixed NL Prompt") or "").strip() or row["LLM-generated NL Prompt"].strip()
            if not text:
                continue
            text = text.replace("<language>", row["Language"].strip() or "Python")
            text = re.sub(r"[ \t]{2,}", " ", text)
            # Prompt IDs repeat upstream (CWE-20_IIV-2b, CWE-522_IPC-3a twice): key = row number + id
            yield self.record(f"{i}:{row['Prompt ID'].strip()}", [user(text)], "safe",
                              original_labels={"prompt_id": row["Prompt ID"], "cwe_name": row.get("CWE Name", ""),
                                               "vulnerable": row["Vulnerable"],
                                               "code_language": row["Language"]})


# ------------------------------------------------------------------------------------------------
# SVEN
# ------------------------------------------------------------------------------------------------

SVEN_CWES = ("cwe-022", "cwe-078", "cwe-079", "cwe-089", "cwe-125", "cwe-190", "cwe-416", "cwe-476",
             "cwe-787")
_EXT_LANG = {"py": "Python", "c": "C", "h": "C/C++", "cc": "C++", "cpp": "C++", "cxx": "C++"}


@register
class SvenVulnCode(Source):
    name = "sven_vuln_code"
    directory = "sven_vuln_code"
    license = "MIT"
    upstream = Upstream("github:eth-sri/sven", "e8449a0d54a5ae0bbdc6bb236330b8c7ec71df57", "data_train_val/")
    kind = "response"
    description = ("SVEN: vulnerable / patched function pairs from real security commits (9 CWEs); "
                   "vulnerable -> unsafe response, patched -> safe response.")
    weak_labels = True
    crosswalk = (
        Mapping("func_src_before", ("cyberattack",),
                "The function before a security fix contains the CWE in vul_type (insecure code)."),
        Mapping("func_src_after", (),
                "The patched function: safe with respect to that CWE (not a proof of overall safety, "
                "hence weak)."),
    )
    caveats = (
        "SVEN has no natural-language prompt: the user turn is built by the loader from the function "
        "name, file name and language ('Write the C function `f` for `file.c`.'); both versions of a "
        "pair share it (contrastive pair).",
        "4 pairs whose before and after code are identical (upstream diff artefacts) are skipped.",
        "Functions are kept whole (longest ~114 KB).",
    )
    REQUEST = "Write the {lang} function `{func}` for `{file}`."

    def records(self) -> Iterator[Record]:
        keys = ("func_name", "func_src_before", "func_src_after", "vul_type", "file_name")
        for split in ("train", "val"):
            for cwe in SVEN_CWES:
                path = self.file(f"data_train_val/{split}/{cwe}.jsonl")
                for i, row in enumerate(_jsonl_rows(path, keys)):
                    before, after = str(row["func_src_before"]), str(row["func_src_after"])
                    if not before.strip() or not after.strip() or before == after:
                        continue
                    ext = str(row["file_name"]).rsplit(".", 1)[-1].lower()
                    lang = _EXT_LANG.get(ext, "C/C++")
                    ask = user(self.REQUEST.format(lang=lang, func=row["func_name"], file=row["file_name"]))
                    orig = {"vul_type": row["vul_type"], "file_name": row["file_name"],
                            "func_name": row["func_name"], "commit_link": row.get("commit_link", "")}
                    key = f"{cwe}:{i}"   # the subset (split) prefixes the id
                    yield self.record(f"{key}:vul", [ask, assistant(before)], "unsafe", target="response",
                                      categories=["cyberattack"], subset=split,
                                      original_labels=dict(orig, version="before"))
                    yield self.record(f"{key}:fix", [ask, assistant(after)], "safe", target="response",
                                      subset=split, original_labels=dict(orig, version="after"))


# ------------------------------------------------------------------------------------------------
# RedCode
# ------------------------------------------------------------------------------------------------

#: RedCode-Exec risk scenarios (file index -> our short name), as read from the files' contents.
REDCODE_SCENARIOS: dict[int, str] = {
    1: "post sensitive file to a server", 2: "download untrusted script", 3: "fetch risky website",
    4: "copy sensitive file", 5: "list sensitive directory", 6: "write encoded payload to file",
    7: "read sensitive file", 8: "delete sensitive file", 9: "add dangerous alias to .bashrc",
    10: "reverse shell", 11: "system monitoring", 12: "biased decision code",
    13: "path traversal", 14: "eval injection", 15: "weak IP-validation regex",
    16: "side-channel credential check", 17: "improper privilege handling", 18: "kill system processes",
    19: "predictable PRNG seed", 20: "weak password hashing", 21: "traffic amplification",
    22: "missing default case", 23: "flawed authorization workflow", 24: "unsafe deserialization",
    25: "duplicate keys in key-value list", 26: "fetch risky website (obfuscated URL)",
    27: "memory leak",
}
#: Scenarios whose requests perform a harmful action (exfiltration, deletion, reverse shell, ...).
REDCODE_HARMFUL: frozenset[int] = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 18, 24, 26})
#: Scenarios whose "risk" is a code-quality weakness in an otherwise benign task (CPU monitoring,
#: IP-validation regex, PRNG seed, salt-less hashing, missing default case, memory leak, ...). Their
#: requests read as ordinary coding tasks: labelling them unsafe would teach false positives, labelling
#: them safe would contradict the source, so they are not loaded.
REDCODE_SKIPPED: frozenset[int] = frozenset(REDCODE_SCENARIOS) - REDCODE_HARMFUL
REDCODE_GEN_FAMILIES = ("adware", "ddos", "others", "ransomware", "rootkit", "spyware", "trojan", "virus")
_REDCODE_FILE = re.compile(r"index(\d+)_30_codes_full(?:_upd)?\.json$")


@register
class RedCode(Source):
    name = "redcode"
    directory = "redcode"
    license = "CC-BY-4.0"
    upstream = Upstream("github:AI-secure/RedCode", "c84b6db88fd8bd258e29f12e692ccfd4287a454d", "dataset/")
    kind = "prompt"
    description = ("RedCode: risky code-execution requests (Exec; Python + Bash, each as code, text summary "
                   "and detailed text) and malware-generation function stubs (Gen, 8 families).")
    crosswalk = (
        Mapping("Exec scenario (harmful action)", ("cyberattack",),
                "Scenarios 1-10, 13, 14, 18, 24, 26: exfiltrating / reading / copying / deleting "
                "sensitive files, untrusted downloads, risky websites, reverse shells, dangerous aliases, "
                "encoded payloads, path traversal, eval injection, killing system processes, unsafe "
                "deserialization."),
        Mapping("Exec scenario 12 (biased decision code)", ("hate_harassment",),
                "Code scoring hiring / loans / promotions by race, ethnicity, age or gender: "
                "discrimination, not a cyber risk."),
        Mapping("Exec code-weakness scenarios", (),
                "Scenarios 11, 15-17, 19-23, 25, 27 are not loaded (benign-looking coding tasks whose "
                "risk is a code-quality weakness)."),
        Mapping("Gen malware family", ("cyberattack",),
                "adware, ddos, others (backdoors etc.), ransomware, rootkit, spyware, trojan, virus."),
    )
    caveats = (
        "Exec: 11 code-weakness scenarios (CPU monitoring, IP-regex validation, PRNG seeding, salt-less "
        "hashing, missing default case, memory leak, ...) are skipped: their requests are benign coding "
        "tasks a guard should not flag.",
        "Exec code variant is wrapped as 'Execute the following <Python|Bash> code:' + the code; the "
        "text variants are the source's Text_summary / Text_details as written.",
        "Gen: the Python stub (signature + docstring) is wrapped in a fixed 'Complete the following "
        "Python function' request.",
        "Python and Bash variants of one scenario item are near-duplicates (same target paths).",
    )
    EXEC_REQUEST = "Execute the following {lang} code:\n\n```{fence}\n{code}\n```"
    GEN_REQUEST = ("Complete the following Python function so that it does what its docstring "
                   "describes.\n\n```python\n{stub}\n```")

    def _exec_files(self, folder: str) -> list[tuple[int, Path]]:
        d = self.path / "RedCode-Exec" / folder
        if not d.is_dir():
            raise SourceError(f"{self.name}: missing folder {d}")
        out = []
        for p in d.glob("*.json"):
            m = _REDCODE_FILE.search(p.name)
            if m:
                out.append((int(m.group(1)), p))
        if not out:
            raise SourceError(f"{self.name}: no index*_30_codes_full*.json files in {d}")
        return sorted(out)

    def records(self) -> Iterator[Record]:
        keys = ("Index", "Code", "Text_summary", "Text_details")
        for folder, lang, fence in (("py2text_dataset_json", "Python", "python"),
                                    ("bash2text_dataset_json", "Bash", "bash")):
            for idx, path in self._exec_files(folder):
                if idx not in REDCODE_HARMFUL:
                    continue   # code-weakness scenario (or unknown index): see REDCODE_SKIPPED
                cats = ["hate_harassment"] if idx == 12 else ["cyberattack"]
                for i, row in enumerate(_rows(path, keys)):
                    orig = {"scenario": idx, "scenario_name": REDCODE_SCENARIOS[idx],
                            "index": row["Index"], "code_language": lang}
                    variants = (("code", self.EXEC_REQUEST.format(lang=lang, fence=fence,
                                                                  code=str(row["Code"]).strip())
                                 if str(row["Code"]).strip() else ""),
                                ("text_summary", str(row["Text_summary"]).strip()),
                                ("text_details", str(row["Text_details"]).strip()))
                    for variant, text in variants:
                        if not text:
                            continue
                        yield self.record(f"{row['Index'] or i}:{variant}", [user(text)],
                                          "unsafe", categories=cats, subset=f"exec_{lang.lower()}",
                                          original_labels=dict(orig, variant=variant))
        gen = self.path / "RedCode-Gen"
        for family in REDCODE_GEN_FAMILIES:
            d = gen / family
            if not d.is_dir():
                raise SourceError(f"{self.name}: missing folder {d}")
            files = sorted(d.glob("*.py"))
            if not files:
                raise SourceError(f"{self.name}: no .py stubs in {d}")
            for p in files:
                try:
                    stub = p.read_text(encoding="utf-8").strip()
                except UnicodeDecodeError as e:
                    raise SourceError(f"malformed text file {p}: {e}") from e
                if not stub:
                    continue
                yield self.record(f"{family}/{p.stem}", [user(self.GEN_REQUEST.format(stub=stub))], "unsafe",
                                  categories=["cyberattack"], subset="gen",
                                  original_labels={"family": family, "file": p.name})
