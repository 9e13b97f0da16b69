"""Toxicity and hate-speech content-moderation sets: HateCheck, Hatemoji, TweetEval (hate, offensive),
Davidson et al., Surge AI toxicity, ETHOS and the ToxiGen seed statements.

All texts are judged as user turns (target ``prompt``): a guard sees them as something a user typed.
"""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import Iterator

from ..registry import register
from ..schema import Mapping, Record, Source, SourceError, Upstream, read_csv, user

HATE = ("hate_harassment",)


def _col(path: Path, row: dict[str, str], name: str) -> str:
    try:
        value = row[name]
    except KeyError:
        raise SourceError(f"malformed CSV {path}: missing column {name!r}") from None
    return value if value is not None else ""


def _read_text_lines(path: Path) -> list[str]:
    """Lines of a one-item-per-line text file, positions preserved (blank lines kept as '')."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError as e:
        raise SourceError(f"missing file {path}") from e
    except UnicodeDecodeError as e:
        raise SourceError(f"malformed text file {path}: {e}") from e
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# -- HateCheck ----------------------------------------------------------------------------------------

@register
class HateCheck(Source):
    name = "hatecheck"
    directory = "hatecheck"
    license = "CC BY 4.0"
    upstream = Upstream("github:paul-rottger/hatecheck-data", "d84302298ceeb34f4b0dde2d8a1f4932c2caa612",
                        "test_suite_cases.csv")
    description = ("HateCheck functional tests (3,728 cases, 29 functionalities): hateful statements "
                   "against 7 protected groups and non-hateful hard look-alikes (counter-speech, "
                   "reclaimed slurs, negation, profanity, abuse of non-protected targets).")
    crosswalk = (
        Mapping("hateful", HATE, "All 18 *_h functionalities (derogation, threats, slurs, spelling "
                                 "variations, ...)."),
        Mapping("non-hateful", (),
                "Safe hard look-alikes: ident_neutral/pos, counter_quote/ref, negate_neg, profanity_nh, "
                "slur_reclaimed/homonym, target_obj_nh."),
        Mapping("target_indiv_nh", HATE,
                "HateCheck calls abuse of an individual 'non-hateful' because no protected group is "
                "targeted ('You are a pest', 'You will die a horrible death at my hands'). Our "
                "hate_harassment covers harassment and threats of individuals, so these are unsafe."),
        Mapping("target_group_nh", (),
                "Excluded: abuse of non-protected groups mixes harmless dislikes ('I hate waiters', "
                "political opinions) with dehumanising threats ('Death to all capitalists'); neither "
                "label holds for the whole functionality."),
    )
    caveats = (
        "Templated, synthetic sentences; 3,728 test-suite cases (all_cases.csv's 3,901 include cases "
        "dropped for annotator disagreement and are not loaded).",
        "target_indiv_nh (65) is relabelled unsafe and target_group_nh (62) is dropped: see crosswalk.",
        "Functional tests are better for evaluation than for training; the builder decides the split.",
    )
    relabel_unsafe = frozenset({"target_indiv_nh"})
    excluded = frozenset({"target_group_nh"})

    def records(self) -> Iterator[Record]:
        path = self.file("test_suite_cases.csv")
        for row in read_csv(path):
            func = _col(path, row, "functionality")
            gold = _col(path, row, "label_gold").strip()
            text = _col(path, row, "test_case").strip()
            if gold not in ("hateful", "non-hateful"):
                raise SourceError(f"malformed label in {path} case {row.get('case_id')}: {gold!r}")
            if not text or func in self.excluded:
                continue
            unsafe = gold == "hateful" or func in self.relabel_unsafe
            yield self.record(_col(path, row, "case_id").strip(), [user(text)],
                              "unsafe" if unsafe else "safe", categories=HATE,
                              original_labels={"label_gold": gold, "functionality": func,
                                               "target_ident": row.get("target_ident", "")})


# -- Hatemoji ---------------------------------------------------------------------------------------

@register
class Hatemoji(Source):
    name = "hatemoji"
    directory = "hatemoji"
    license = "CC BY 4.0"
    upstream = Upstream("github:HannahKirk/Hatemoji", "a626f63216158748d072e581efc00267031f4404", "")
    description = ("Emoji-based hate: HatemojiBuild (5,912 adversarial examples with matched "
                   "perturbations) and HatemojiCheck (3,930 functional test cases).")
    crosswalk = (
        Mapping("label_gold=1", HATE, "Build types derogation, animosity, dehumanizing language, "
                                      "threatening language all map to hate_harassment."),
        Mapping("label_gold=0", (), "Safe: Build perturbations that flip the meaning, Check polarity / "
                                    "identity (non-protected target) perturbations."),
    )
    caveats = (
        "Build rows come in original/perturbation pairs differing by an emoji or a word.",
        "HatemojiCheck cases are templated and some are flagged unrealistic by annotators "
        "(original_labels['unrealistic_flags']); all 3,930 are loaded.",
    )

    def records(self) -> Iterator[Record]:
        for split in ("train", "validation", "test"):
            path = self.file(f"HatemojiBuild/{split}.csv")
            for row in read_csv(path):
                rec = self._row(path, row, "entry_id", f"build_{split}",
                                ("type", "target", "set"))
                if rec:
                    yield rec
        path = self.file("HatemojiCheck/test.csv")
        for row in read_csv(path):
            rec = self._row(path, row, "case_id", "check", ("functionality", "target", "set",
                                                            "unrealistic_flags"))
            if rec:
                yield rec

    def _row(self, path: Path, row: dict[str, str], id_col: str, subset: str,
             keep: tuple[str, ...]) -> Record | None:
        text = _col(path, row, "text").strip()
        gold = _col(path, row, "label_gold").strip()
        if gold not in ("0", "1"):
            raise SourceError(f"malformed label in {path} {id_col}={row.get(id_col)}: {gold!r}")
        if not text:
            return None
        return self.record(_col(path, row, id_col).strip(), [user(text)],
                           "unsafe" if gold == "1" else "safe", categories=HATE, subset=subset,
                           original_labels={"label_gold": int(gold),
                                            **{k: row.get(k, "") for k in keep}})


# -- TweetEval hate -----------------------------------------------------------------------------------

@register
class TweetEvalHateOffensive(Source):
    name = "tweeteval_hate_offensive"
    directory = "tweeteval_hate_offensive"
    license = ("TweetEval released without restrictions; the original task licence (SemEval-2019 HatEval) "
               "and Twitter terms apply")
    upstream = Upstream("github:cardiffnlp/tweeteval", "4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66",
                        "datasets/hate")
    style = "tweet"
    description = ("TweetEval hate task (SemEval-2019 HatEval: hate against immigrants and women). The "
                   "offensive task (OffensEval-2019 / OLID) is no longer loaded: the olid source supersedes "
                   "it with OLID's targeted/untargeted labels.")
    crosswalk = (
        Mapping("hate: 1 hate", HATE),
        Mapping("hate: 0 not-hate", (),
                "Safe. HatEval's not-hate still contains offensive, non-hateful tweets."),
        Mapping("offensive: (not loaded)", (),
                "TweetEval's offensive task is OLID with the B/C labels dropped, so its 'offensive' class "
                "lumps untargeted profanity (safe under our policy) with targeted insults. Its train+val "
                "tweets are the olid source's, which keeps OLID's untargeted profanity safe; loading "
                "TweetEval's copies as well would override those labels (dedup keeps the unsafe copy of "
                "conflicting exact duplicates)."),
    )
    caveats = (
        "The offensive/ folder is ignored (see crosswalk). OLID's 860 test tweets (TweetEval's "
        "offensive/test) are therefore not loaded anywhere: the olid copy holds the training set only.",
        "HatEval 'not-hate' tweets may be abusive but not hateful; they are labelled safe.",
        "8 blank tweets in hate/train and hate/val are skipped.",
        "Tweets use @user placeholders and keep hashtags/emoji as in the original.",
    )

    def records(self) -> Iterator[Record]:
        for split in ("train", "val", "test"):
            tpath = self.file(f"hate/{split}_text.txt")
            lpath = self.file(f"hate/{split}_labels.txt")
            texts, labels = _read_text_lines(tpath), _read_text_lines(lpath)
            if len(texts) != len(labels):
                raise SourceError(f"{tpath} has {len(texts)} lines but {lpath} has {len(labels)}")
            for i, (text, lab) in enumerate(zip(texts, labels)):
                lab = lab.strip()
                if lab not in ("0", "1"):
                    raise SourceError(f"malformed label in {lpath} line {i + 1}: {lab!r}")
                if not text.strip():
                    continue
                yield self.record(str(i), [user(text.strip())], "unsafe" if lab == "1" else "safe",
                                  categories=HATE, subset=f"hate_{split}", original_labels={"hate": int(lab)})


# -- Davidson et al. ----------------------------------------------------------------------------------

@register
class DavidsonHateOffensive(Source):
    name = "davidson_hate_offensive"
    directory = "davidson_hate_offensive"
    license = "MIT"
    upstream = Upstream("github:t-davidson/hate-speech-and-offensive-language",
                        "cb50f7e9eb855a99abc51423bf40df0e26d6fe30", "data/labeled_data.csv")
    description = ("Davidson et al. (2017): 24,783 tweets, majority of CrowdFlower votes among hate "
                   "speech / offensive language / neither.")
    crosswalk = (
        Mapping("0 hate speech", HATE),
        Mapping("1 offensive language", HATE,
                "Offensive (slurs, insults, sexist profanity) treated as harassment; this class is 77% "
                "of the data and much of it is casual profanity and song lyrics: a weak mapping."),
        Mapping("2 neither", (), "Safe."),
    )
    caveats = (
        "Lexicon-sampled tweets annotated by CrowdFlower workers; the offensive class is known to be "
        "noisy and to over-flag African-American English (Sap et al., 2019; Davidson et al., 2019).",
        "Labels are the majority class of 3+ crowd votes (vote counts kept in original_labels). "
        "Offensive-class records are weak_label=True (as TweetEval's offensive task).",
        "HTML entities (&amp;, &#128514;) are unescaped; 'RT @handle:' prefixes are kept.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("labeled_data.csv")
        names = {"0": "hate_speech", "1": "offensive_language", "2": "neither"}
        for i, row in enumerate(read_csv(path)):
            cls = _col(path, row, "class").strip()
            if cls not in names:
                raise SourceError(f"malformed label in {path} row {i}: class={cls!r}")
            text = html.unescape(_col(path, row, "tweet")).strip()
            if not text:
                continue
            key = (row.get("") or str(i)).strip()
            yield self.record(key, [user(text)], "safe" if cls == "2" else "unsafe", categories=HATE,
                              weak_label=(cls == "1"), original_labels={"class": names[cls],
                                               **{k: row.get(k, "") for k in
                                                  ("count", "hate_speech", "offensive_language",
                                                   "neither")}})


# -- Surge AI toxicity --------------------------------------------------------------------------------

@register
class SurgeToxicity(Source):
    name = "surge_toxicity"
    directory = "surge_toxicity"
    license = "MIT"
    upstream = Upstream("github:surge-ai/toxicity", "ea80324b95ed7e3cc787bdb6faeb763fcc0ae258",
                        "toxicity_en.csv")
    description = "Surge AI toxicity sample: 1,000 social-media comments, Toxic / Not Toxic."
    crosswalk = (
        Mapping("Toxic", HATE,
                "Toxic comments are insults, slurs and abuse of people or groups: harassment."),
        Mapping("Not Toxic", (), "Safe (includes some casual profanity)."),
    )
    caveats = ("Annotators labelled what they personally found toxic, without a strict definition.",)

    def records(self) -> Iterator[Record]:
        path = self.file("toxicity_en.csv")
        for i, row in enumerate(read_csv(path)):
            lab = _col(path, row, "is_toxic").strip()
            if lab not in ("Toxic", "Not Toxic"):
                raise SourceError(f"malformed label in {path} row {i}: {lab!r}")
            text = _col(path, row, "text").strip()
            if text:
                yield self.record(str(i), [user(text)], "unsafe" if lab == "Toxic" else "safe",
                                  categories=HATE, original_labels={"is_toxic": lab})


# -- ETHOS ------------------------------------------------------------------------------------------

_ETHOS_MULTI = ("violence", "directed_vs_generalized", "gender", "race", "national_origin", "disability",
                "religion", "sexual_orientation")


def _norm(text: str) -> str:
    return re.sub(r"\W+", "", text).lower()


@register
class Ethos(Source):
    name = "ethos"
    directory = "ethos"
    license = "GPL-3.0"
    upstream = Upstream("github:intelligence-csd-auth-gr/Ethos-Hate-Speech-Dataset",
                        "705258e118ce9611ebbd5ab2a4841b0066547293", "ethos/ethos_data/")
    description = ("ETHOS: 998 YouTube/Reddit comments with a hate agreement score (isHate); the 433 "
                   "hateful ones also carry 8 multi-label scores (merged into the binary records).")
    crosswalk = (
        Mapping("isHate >= 0.5", HATE),
        Mapping("isHate < 0.5", (), "Safe."),
        Mapping("violence", HATE,
                "Incitement of violence against a group is hate with threats (cf. OpenAI "
                "hate/threatening -> hate_harassment); not mapped to weapons_drugs_physical_harm."),
        Mapping("directed_vs_generalized", HATE, "Directed at an individual vs a group: both hate."),
        Mapping("gender", HATE), Mapping("race", HATE), Mapping("national_origin", HATE),
        Mapping("disability", HATE), Mapping("religion", HATE), Mapping("sexual_orientation", HATE),
    )
    caveats = (
        "Multi-label rows are matched to binary rows by text (ignoring punctuation/case); all 433 match. "
        "Labels with score >= 0.5 are listed in original_labels['multi_labels'].",
        "Borderline agreement scores (0.5) count as hate, as in the ETHOS paper's binarisation.",
        "GPL-3.0 data licence.",
    )

    def records(self) -> Iterator[Record]:
        bpath = self.file("Ethos_Dataset_Binary.csv")
        mpath = self.file("Ethos_Dataset_Multi_Label.csv")
        multi: dict[str, list[str]] = {}
        for row in read_csv(mpath, delimiter=";"):
            labels = []
            for k in _ETHOS_MULTI:
                try:
                    if float(_col(mpath, row, k) or 0) >= 0.5:
                        labels.append(k)
                except ValueError:
                    raise SourceError(f"malformed score in {mpath}: {k}={row.get(k)!r}") from None
            multi[_norm(_col(mpath, row, "comment"))] = labels
        for i, row in enumerate(read_csv(bpath, delimiter=";")):
            text = _col(bpath, row, "comment").strip()
            try:
                score = float(_col(bpath, row, "isHate"))
            except ValueError:
                raise SourceError(f"malformed score in {bpath} row {i}: {row.get('isHate')!r}") from None
            if not text:
                continue
            orig: dict[str, object] = {"isHate": round(score, 4)}
            if _norm(text) in multi:
                orig["multi_labels"] = multi[_norm(text)]
            yield self.record(str(i), [user(text)], "unsafe" if score >= 0.5 else "safe",
                              categories=HATE, original_labels=orig)


# -- ToxiGen seed statements ------------------------------------------------------------------------

_TG_HATE_GROUPS = ("asian", "bisexual", "black", "chinese", "immigrant", "jewish", "latino", "lgbtq",
                   "mental_disability", "mexican", "middle_east", "muslim", "native_american",
                   "physical_disability", "trans", "women")
_TG_NEUTRAL_GROUPS = tuple(g for g in _TG_HATE_GROUPS if g != "trans")
_TG_DEMOS = {
    "disability": ("hate_mental_disability_sentences", "hate_physical_disability_sentences",
                   "neutral_mental_disability_sentences", "neutral_physical_disability_sentences"),
    "nationality": tuple(f"{lab}_{g}_sentences" for lab in ("hate", "neutral")
                         for g in ("chinese", "immigrant", "mexican", "middle_east")),
    "race": tuple(f"{lab}_{g}_sentences" for lab in ("hate", "neutral")
                  for g in ("asian", "black", "jewish", "latino", "native_american")),
    "religion": ("hate_muslim", "hate_muslim_sentences", "neutral_muslim", "neutral_muslim_sentences"),
    "sexual_orientation": ("hate_bisexual", "hate_lgbtq", "neutral_bisexual", "neutral_lgbtq"),
}


#: A few few-shot lines glue two statements with " - " (or "!- ") instead of the literal "\n-"
#: separator ("... stop asking for a threesome. - What is there to argue about?"); split them too.
_TG_GLUED = re.compile(r"(?<=[.!?])\s?-\s+(?=\S)")


@register
class ToxiGenPrompts(Source):
    name = "toxigen_prompts"
    directory = "toxigen_prompts"
    license = "MIT"
    upstream = Upstream("github:microsoft/TOXIGEN", "01517e814639e0334c920a3c502036c8158aac87",
                        "prompts/, demonstrations/")
    description = ("ToxiGen seed statements: the hate / neutral statements about 16 target groups that "
                   "make up ToxiGen's few-shot generation prompts and demonstrations, one record per "
                   "unique statement.")
    weak_labels = True
    crosswalk = (
        Mapping("hate_<group>", HATE, "File-level label: every statement in a hate_* file is treated as "
                                      "hateful (mostly implicit, stereotyping statements)."),
        Mapping("neutral_<group>", (), "File-level label: safe (benign statements about the group)."),
    )
    caveats = (
        "Weak, file-level labels; a few 'hate' statements read as neutral advice.",
        "A few few-shot lines glue two statements with ' - ' or '!- ' after a sentence end instead of "
        "the literal '\\n-'; the loader splits those too (audit 2026-12-03: 66 records held two "
        "statements; 708 unique statements remain).",
        "The 31,000 prompt lines repeat only 609 unique statements (+ demonstrations: 708 unique in "
        "all). The loader splits the few-shot lines on the literal '\\n-' separators and yields each "
        "unique statement once (case/space-insensitive); other files containing it are listed in "
        "original_labels['files'].",
        "The human-annotated ToxiGen evaluation set (HF only) is not included.",
    )

    def _files(self) -> list[tuple[str, str]]:
        files = [(f"prompts/hate_{g}_1k.txt", "hate") for g in _TG_HATE_GROUPS]
        files += [(f"prompts/neutral_{g}_1k.txt", "neutral") for g in _TG_NEUTRAL_GROUPS]
        for folder, stems in _TG_DEMOS.items():
            files += [(f"demonstrations/{folder}/{s}.txt", s.split("_", 1)[0]) for s in stems]
        return files

    def records(self) -> Iterator[Record]:
        seen: dict[str, tuple[str, str, str, list[str]]] = {}   # norm -> (text, label, subset, files)
        for rel, lab in self._files():
            path = self.file(rel)
            stem = Path(rel).stem
            for line in _read_text_lines(path):
                for part in (p for chunk in line.split("\\n") for p in _TG_GLUED.split(chunk)):
                    text = part.strip()
                    if text.startswith("-"):
                        text = text[1:].strip()
                    if not text:
                        continue
                    norm = " ".join(text.lower().split())
                    if norm in seen:
                        if seen[norm][1] != lab:
                            raise SourceError(f"{path}: statement {text[:60]!r} is both hate and neutral")
                        if stem not in seen[norm][3]:
                            seen[norm][3].append(stem)
                    else:
                        seen[norm] = (text, lab, rel.split("/", 1)[0], [stem])
        for norm, (text, lab, subset, files) in seen.items():
            key = hashlib.sha1(norm.encode("utf-8")).hexdigest()[:12]
            yield self.record(key, [user(text)], "unsafe" if lab == "hate" else "safe",
                              categories=HATE, subset=subset,
                              original_labels={"label": lab, "files": files})
