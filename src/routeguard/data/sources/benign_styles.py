"""Benign text of every writing style (MANIFEST section "G. Added 2026-12-03"): tweets (TweetEval, XLM-T),
news (AG News, NTREX-128), encyclopedic paragraphs and questions (XQuAD, Natural Questions), medical Q&A
(MedQuAD), emails (AESLC/Enron), debate (PERSPECTRUM), dialogues (SGD, DailyDialog, EmpatheticDialogues
situations), system and role prompts (awesome-chatgpt-prompts, TheBigPromptLibrary, mustvlad), code
(HumanEval-X), forum comments (GoEmotions), customer / assistant / programming queries (BANKING77, CLINC150,
StackOverflow titles) and movie reviews (rt-polarity).

Every record is labelled safe and carries its ``style``; non-English records carry their language code
(the builder sends them to the multilingual split). Records longer than :data:`MAX_CHARS` are skipped
except in the styles that need long text (emails, system prompts), as each source's caveats say.
"""
from __future__ import annotations

import csv
import gzip
import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator

from ..registry import register
from ..schema import (Mapping, Record, Source, SourceError, Upstream, assistant, read_csv, read_json,
                      read_jsonl, user)
from .benign_and_mixed import _need
from .toxicity_hate import _read_text_lines

#: Longest record (characters over all turns) kept by sources whose style does not need long text.
MAX_CHARS = 4000

BENIGN = (Mapping("(benign)", (), "Safe: ordinary benign text; the dataset has no safety labels."),)

#: Short benign user questions paired with a system prompt ([system, user] conversations, target prompt).
BENIGN_QUESTIONS: tuple[str, ...] = (
    "What can you help me with?",
    "Can you summarize the main causes of the French Revolution in three sentences?",
    "How do I convert a list of strings to integers in Python?",
    "What's a quick vegetarian dinner I can make in 20 minutes?",
    "Could you help me write a polite email asking my manager for a day off next Friday?",
    "What is the difference between weather and climate?",
    "Any tips for getting better sleep?",
    "How do you say 'good morning, how are you?' in Spanish?",
)


class _Benign(Source):
    """An all-benign style source: :meth:`safe` yields a safe record unless a turn is blank or the record
    is longer than ``max_chars`` (0 keeps every length)."""

    crosswalk = BENIGN
    max_chars: ClassVar[int] = MAX_CHARS

    def safe(self, key: str, messages: list[dict[str, Any]], **kw: Any) -> Iterator[Record]:
        if not all(m["content"].strip() for m in messages):
            return
        if self.max_chars and sum(len(m["content"]) for m in messages) > self.max_chars:
            return
        yield self.record(key, messages, "safe", **kw)

    def text_label_lines(self, text_rel: str, labels_rel: str) -> list[tuple[int, str, str]]:
        """(index, text, label) of an aligned ``*_text.txt`` / ``*_labels.txt`` pair."""
        tpath, lpath = self.file(text_rel), self.file(labels_rel)
        texts, labels = _read_text_lines(tpath), _read_text_lines(lpath)
        if len(texts) != len(labels):
            raise SourceError(f"{tpath} has {len(texts)} lines but {lpath} has {len(labels)}")
        return [(i, t.strip(), lab.strip()) for i, (t, lab) in enumerate(zip(texts, labels))]

    def folder_files(self, rel: str, pattern: str) -> tuple[Path, list[Path]]:
        """(folder, its files matching pattern, sorted); a missing folder is an error naming it."""
        d = self.path / rel
        if not d.is_dir():
            raise SourceError(f"{self.name}: missing folder {d}")
        return d, sorted(d.glob(pattern))

    @staticmethod
    def read_text(path: Path, what: str) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise SourceError(f"malformed {what} file {path}: {e}") from e

    def mapping(self, rel: str) -> dict[str, str]:
        """TweetEval-style ``mapping.txt``: ``id <tab> name [<tab> ...]`` per line."""
        path = self.file(rel)
        out = {}
        for n, line in enumerate(_read_text_lines(path), 1):
            parts = line.split("\t")
            if len(parts) < 2:
                raise SourceError(f"malformed mapping file {path} line {n}: expected 'id<TAB>name'")
            out[parts[0].strip()] = parts[1].strip()
        return out

    def tsv(self, rel: str) -> list[dict[str, str]]:
        """A Glean-processed ``text<TAB>label`` file (no quoting: a leading quote is text)."""
        path = self.file(rel)
        rows = read_csv(path, delimiter="\t", quoting=csv.QUOTE_NONE)
        for n, row in enumerate(rows, 2):
            if row.get("text") is None or row.get("label") is None:
                raise SourceError(f"malformed TSV {path} line {n}: expected columns 'text' and 'label'")
        return rows


def _glean(path: str) -> Upstream:
    """Upstream of a Glean-processed set (amazon-science/Glean, data removed at HEAD)."""
    return Upstream("github:amazon-science/Glean", "00f7e07e5b6dd1967d15f07a51b066997338f41e", path)


def _detok(text: str) -> str:
    """Undo PTB-style tokenisation (DailyDialog, rt-polarity): no space before punctuation or inside
    contractions."""
    text = re.sub(r"\s+([,.?!;:%])", r"\1", text.strip())
    return re.sub(r"(\w) ?([’']) (s|t|m|d|ll|re|ve)\b", r"\1\2\3", text)


def _alternating(turns: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Chat messages from (role, text) turns, consecutive same-role turns merged."""
    msgs: list[dict[str, Any]] = []
    for role, text in turns:
        text = text.strip()
        if not text:
            continue
        if msgs and msgs[-1]["role"] == role:
            msgs[-1]["content"] += "\n" + text
        else:
            msgs.append({"role": role, "content": text})
    return msgs


def _dialogue_target(msgs: list[dict[str, Any]]) -> str:
    """Whole-dialogue target: response when it ends on the assistant, conversation when on the user
    (prompt for a lone user turn)."""
    if msgs[-1]["role"] == "assistant":
        return "response"
    return "conversation" if len(msgs) > 1 else "prompt"


# -- tweets -------------------------------------------------------------------------------------------

@register
class TweetEvalBenignTasks(_Benign):
    name = "tweeteval_benign_tasks"
    directory = "tweeteval_benign_tasks"
    license = ("TweetEval released without restrictions; each task keeps its original SemEval licence and "
               "Twitter terms apply")
    upstream = Upstream("github:cardiffnlp/tweeteval", "4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66", "datasets/")
    style = "tweet"
    description = ("TweetEval's non-hate tasks as benign tweets: emotion, irony, stance (abortion, atheism, "
                   "climate, feminist, hillary), sentiment (val/test) and emoji (val); 33,099 tweets.")
    caveats = (
        "Not safety-labelled: emotion/irony/stance/sentiment/emoji tweets are treated as benign; some are "
        "rude or political (hate/offensive tweets live in tweeteval_hate_offensive).",
        "The task label (by mapping.txt name) is kept in original_labels.",
        "sentiment/train and emoji train/test are absent (size); irony train line 1928 was removed upstream "
        "(holdout overlap).",
    )
    STANCE: ClassVar[tuple[str, ...]] = ("abortion", "atheism", "climate", "feminist", "hillary")
    #: (task folder, mapping folder, splits)
    TASKS: ClassVar[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
        ("emotion", "emotion", ("train", "val", "test")),
        ("irony", "irony", ("train", "val", "test")),
        *((f"stance/{t}", "stance", ("train", "val", "test")) for t in STANCE),
        ("sentiment", "sentiment", ("val", "test")),
        ("emoji", "emoji", ("val",)),
    )

    def records(self) -> Iterator[Record]:
        for folder, map_folder, splits in self.TASKS:
            names = self.mapping(f"{map_folder}/mapping.txt")
            task = folder.replace("/", "_")
            for split in splits:
                for i, text, lab in self.text_label_lines(f"{folder}/{split}_text.txt",
                                                          f"{folder}/{split}_labels.txt"):
                    yield from self.safe(str(i), [user(text)], subset=f"{task}_{split}",
                                         original_labels={map_folder: names.get(lab, lab)})


#: XLM-T sentiment folder -> ISO 639-1 code
XLMT_LANGUAGES: dict[str, str] = {"arabic": "ar", "french": "fr", "german": "de", "hindi": "hi", "italian": "it",
                                  "portuguese": "pt", "spanish": "es"}


@register
class XLMTMultilingualTweets(_Benign):
    name = "xlmt_multilingual_tweets"
    directory = "xlmt_multilingual_tweets"
    license = "repo Apache-2.0; restrictions of the original datasets and Twitter terms apply"
    upstream = Upstream("github:cardiffnlp/xlm-t", "874214d64d96599eb869a033c22ec2cc57d19256", "data/sentiment/")
    style = "tweet"
    description = ("XLM-T / UMSAB sentiment tweets in 7 languages (ar, fr, de, hi, it, pt, es; 1,839 train / "
                   "324 val / 870 test each) as benign non-English tweets.")
    caveats = (
        "Sentiment labels only (0 negative, 1 neutral, 2 positive, in original_labels); some tweets are "
        "negative or political. All non-English, so the builder puts them in the multilingual split.",
        "The 'hindi' set is mostly romanised Hindi / Hinglish; it is tagged 'hi'.",
    )
    SENTIMENT: ClassVar[dict[str, str]] = {"0": "negative", "1": "neutral", "2": "positive"}

    def records(self) -> Iterator[Record]:
        for folder, lang in XLMT_LANGUAGES.items():
            for split in ("train", "val", "test"):
                base = f"data/sentiment/{folder}/{split}"
                for i, text, lab in self.text_label_lines(f"{base}_text.txt", f"{base}_labels.txt"):
                    yield from self.safe(str(i), [user(text)], language=lang, subset=f"{lang}_{split}",
                                         original_labels={"sentiment": self.SENTIMENT.get(lab, lab)})


# -- news ---------------------------------------------------------------------------------------------

def _ag_entity(m: re.Match[str]) -> str:
    e = m[1]
    if e.startswith("#"):
        n = int(e[1:])
        return bytes([n]).decode("cp1252", "replace") if 128 <= n < 256 else chr(n)
    return html.unescape(f"&{e};")


def _ag_clean(text: str) -> str:
    """AG News escapes: '\\' for line breaks and entities whose '&' became a space (' #39;s', ' quot;')."""
    text = re.sub(r"(?<!&) ?(#\d+|quot|amp|lt|gt);", _ag_entity, text.replace("\\", " "))
    return re.sub(r"[ \t]+", " ", html.unescape(text)).strip()


@register
class AGNewsTest(_Benign):
    name = "ag_news_test"
    directory = "ag_news_test"
    license = "none in the repo; AG's corpus is for research and other non-commercial use (readme)"
    upstream = Upstream("github:suuuch/TransformerClassification", "0d9808e1978c8468b4f8f08a44c5be99d058aa7b",
                        "data/ag_news_csv/test.csv")
    non_commercial = True
    style = "news"
    description = "AG News topic-classification test split: 7,600 news items (title + description), 4 classes."
    caveats = (
        "Research / non-commercial use only.",
        "Text = title, newline, description. The CSV's escapes are undone: '\\' line breaks become spaces, "
        "'#39;'-style and ' quot;' entity remnants become characters.",
        "All benign news, including neutral reports of crime, war and terrorism; subset = topic class.",
    )

    def records(self) -> Iterator[Record]:
        names = {str(i): n for i, n in enumerate(_read_text_lines(self.file("classes.txt")), 1)}
        path = self.file("test.csv")
        for i, row in enumerate(read_csv(path, fieldnames=["class", "title", "description"])):
            if row.get("description") is None or row["class"] not in names:
                raise SourceError(f"malformed AG News row {i + 1} in {path}: expected class(1-4),title,description")
            text = "\n".join(t for t in (_ag_clean(row["title"]), _ag_clean(row["description"])) if t)
            yield from self.safe(str(i), [user(text)], subset=names[row["class"]])


#: NTREX-128 file suffix -> ISO 639-1 code
NTREX_LANGUAGES: dict[str, str] = {"fra": "fr", "deu": "de", "spa": "es", "ita": "it", "por": "pt", "zho-CN": "zh",
                                   "jpn": "ja", "kor": "ko", "arb": "ar", "hin": "hi", "rus": "ru"}


@register
class NTREX128(_Benign):
    name = "ntrex128"
    directory = "ntrex128"
    license = "CC BY-SA 4.0 (share-alike)"
    upstream = Upstream("github:MicrosoftTranslator/NTREX", "8561f6a622db9edad1217683e5c83daefd8bb2bf",
                        "NTREX-128/newstest2019-ref.*.txt")
    style = "news"
    description = ("NTREX-128 news sentences (translations of WMT newstest2019) in 11 languages: the first "
                   "1,000 lines each of fr, de, es, it, pt, zh, ja, ko, ar, hi, ru.")
    caveats = (
        "Line-aligned across languages: the same 1,000 source sentences in every language.",
        "zho-CN is tagged 'zh'. All non-English (multilingual split).",
    )

    def records(self) -> Iterator[Record]:
        for suffix, lang in NTREX_LANGUAGES.items():
            path = self.file(f"NTREX-128/newstest2019-ref.{suffix}.txt")
            for i, line in enumerate(_read_text_lines(path)):
                yield from self.safe(str(i), [user(line.strip())], language=lang, subset=lang,
                                     original_labels={"line": i + 1})


# -- encyclopedic and Q&A -----------------------------------------------------------------------------

@register
class XQuAD(_Benign):
    name = "xquad"
    directory = "xquad"
    license = "CC BY-SA 4.0 (share-alike)"
    upstream = Upstream("github:google-deepmind/xquad", "7d30520c717524000f0d9d2f9c10a069acd9d285", "xquad.en.json")
    style = "encyclopedic"
    description = ("XQuAD English (SQuAD v1.1 dev): 239 Wikipedia paragraphs as encyclopedic text and their "
                   "1,185 questions as Q&A prompts.")
    caveats = (
        "Paragraphs: subset 'context', style encyclopedic; questions: subset 'question', style qa (the "
        "answer spans are kept in original_labels, not emitted as responses).",
        "The 'faunal succession' paragraph and its questions were removed upstream (holdout overlap).",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("xquad.en.json")
        data = read_json(path)
        _need(path, data, ("data",), "SQuAD file")
        n = 0
        for article in data["data"]:
            _need(path, article, ("title", "paragraphs"), "SQuAD article")
            for para in article["paragraphs"]:
                _need(path, para, ("context", "qas"), "SQuAD paragraph")
                title = str(article["title"])
                yield from self.safe(f"p{n}", [user(str(para["context"]).strip())], subset="context",
                                     original_labels={"title": title})
                for qa in para["qas"]:
                    _need(path, qa, ("id", "question"), "SQuAD question")
                    yield from self.safe(str(qa["id"]), [user(str(qa["question"]).strip())], subset="question",
                                         style="qa", original_labels={
                                             "title": title, "paragraph": f"p{n}",
                                             "answers": [a.get("text") for a in qa.get("answers", [])]})
                n += 1


@register
class NQOpenDev(_Benign):
    name = "nq_open_dev"
    directory = "nq_open_dev"
    license = "Natural Questions data CC BY-SA 3.0 (share-alike); repo code Apache-2.0"
    upstream = Upstream("github:google-research-datasets/natural-questions", "fb26a3073b1fe636c97302890a27b491d6530130",
                        "nq_open/NQ-open.dev.jsonl")
    style = "qa"
    description = "Natural Questions Open dev split: 3,610 real lower-cased Google search questions."
    caveats = ("Questions are lower-cased search queries; some are about wars, crimes, drugs and diseases.",
               "The short answers are kept in original_labels.")

    def records(self) -> Iterator[Record]:
        path = self.file("NQ-open.dev.jsonl")
        for i, row in enumerate(read_jsonl(path)):
            _need(path, row, ("question",), "NQ-open row")
            yield from self.safe(str(i), [user(str(row["question"]).strip())],
                                 original_labels={"answer": row.get("answer", [])})


# -- medical ------------------------------------------------------------------------------------------

def _tidy(text: str) -> str:
    """Strip each line and collapse runs of blank lines (MedQuAD answers are padded with whitespace)."""
    lines = [ln.strip() for ln in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


@register
class MedQuADSubset(_Benign):
    name = "medquad_subset"
    directory = "medquad_subset"
    license = "CC BY 4.0"
    upstream = Upstream("github:abachaa/MedQuAD", "577bd37b96c02d1833b2c9eed2de9f96964e96cb",
                        "9_CDC_QA/, 6_NINDS_QA/, 7_SeniorHealth_QA/")
    kind = "mixed"
    style = "medical"
    description = ("MedQuAD consumer-health Q&A from the CDC, NINDS and NIHSeniorHealth collections (2,112 QA "
                   "pairs in 382 documents): each question as a prompt, question + answer as a response.")
    caveats = (
        "subset = collection (cdc / ninds / seniorhealth). A question repeated inside one document (one "
        "answer per aspect) is emitted once as a prompt; every pair is a response record.",
        f"Response records over {MAX_CHARS} characters (about 100 long answers) are skipped; their "
        "questions are still prompts.",
        "Answers are whitespace-tidied; MedQuAD's doubled '? ?' question endings become '?'.",
        "Files 6_NINDS_QA/0000229.xml and 7_SeniorHealth_QA/0000014.xml were removed upstream (holdout).",
    )
    COLLECTIONS: ClassVar[dict[str, str]] = {"9_CDC_QA": "cdc", "6_NINDS_QA": "ninds",
                                             "7_SeniorHealth_QA": "seniorhealth"}

    def records(self) -> Iterator[Record]:
        for folder, subset in self.COLLECTIONS.items():
            for path in self.folder_files(folder, "*.xml")[1]:
                try:
                    root = ET.parse(path).getroot()
                except ET.ParseError as e:
                    raise SourceError(f"malformed XML {path}: {e}") from e
                focus = (root.findtext("Focus") or "").strip()
                seen: set[str] = set()
                for pair in root.iter("QAPair"):
                    q_el = pair.find("Question")
                    if q_el is None:
                        raise SourceError(f"malformed MedQuAD file {path}: QAPair without Question")
                    q = re.sub(r"\?\s*\?\s*$", "?", (q_el.text or "").strip())
                    a = _tidy(pair.findtext("Answer") or "")
                    qid = q_el.get("qid") or f"{path.stem}-{pair.get('pid')}"
                    orig = {"qtype": q_el.get("qtype", ""), "focus": focus, "document": path.stem}
                    if q not in seen:
                        seen.add(q)
                        yield from self.safe(f"{qid}:prompt", [user(q)], subset=subset, original_labels=orig)
                    yield from self.safe(f"{qid}:response", [user(q), assistant(a)], target="response",
                                         subset=subset, original_labels=orig)


# -- email --------------------------------------------------------------------------------------------

@register
class AESLCEnronEmails(_Benign):
    name = "aeslc_enron_emails"
    directory = "aeslc_enron_emails"
    license = "CC BY-NC-SA 4.0 (non-commercial, share-alike)"
    upstream = Upstream("github:ryanzhumich/AESLC", "7afc087a1cc234d07121f0d4a2d87102ddceabc2",
                        "enron_subject_line/test/")
    non_commercial = True
    style = "email"
    max_chars = 0   # emails keep their length
    description = "AESLC annotated Enron emails, test split: 1,899 business email bodies (with subject lines)."
    caveats = (
        "CC BY-NC-SA 4.0: non-commercial, share-alike.",
        "Every other email (even positions in file-name order) is prefixed 'Subject: <original subject>' "
        "and a blank line, so both bare bodies and subject+body occur; the @ann0-2 human subjects are "
        "not used.",
        "No length cap (a few bodies run past 10,000 characters). Names and phone numbers of the public "
        "Enron corpus are present.",
        "7 files near kept-back texts were removed upstream (holdout overlap).",
    )

    def records(self) -> Iterator[Record]:
        for i, path in enumerate(self.folder_files("enron_subject_line/test", "*.subject")[1]):
            text = self.read_text(path, "email")
            body, _, rest = text.partition("\n@subject\n")
            subject = rest.split("\n@", 1)[0].strip() if rest else ""
            body = body.strip()
            with_subject = bool(subject) and i % 2 == 0
            msg = f"Subject: {subject}\n\n{body}" if with_subject else body
            yield from self.safe(path.stem, [user(msg)], original_labels={
                "subject": subject, "with_subject": with_subject})


# -- debate -------------------------------------------------------------------------------------------

@register
class Perspectrum(_Benign):
    name = "perspectrum"
    directory = "perspectrum"
    license = "CC BY-SA 4.0 (share-alike)"
    upstream = Upstream("github:CogComp/perspectrum", "b42c27b85f20f2a35c0a0895698fa242ccf160ab", "data/dataset/")
    style = "debate"
    description = ("PERSPECTRUM debate claims (907) and perspective sentences (11,112) from idebate, procon and "
                   "debatewise on controversial topics.")
    caveats = (
        "Argumentation on abortion, guns, drugs, religion, immigration, euthanasia...: debate, not hate or "
        "incitement. subset 'claim' or 'perspective'; a perspective's claims and stances are in "
        "original_labels (pool sentences not attached to any claim have none).",
        "Perspective sources include 'paraphrase' and 'google' (crowd paraphrases / retrieved sentences).",
        "evidence_pool_v1.0.json (>=4 MiB) is absent.",
    )

    def records(self) -> Iterator[Record]:
        cpath = self.file("perspectrum_with_answers_v1.0.json")
        ppath = self.file("perspective_pool_v1.0.json")
        spath = self.file("dataset_split_v1.0.json")
        claims, pool, split = read_json(cpath), read_json(ppath), read_json(spath)
        if not isinstance(claims, list) or not isinstance(pool, list) or not isinstance(split, dict):
            raise SourceError(f"malformed PERSPECTRUM files {cpath} / {ppath} / {spath}: expected lists and a "
                              "split map")
        stances: dict[int, list[dict[str, Any]]] = {}
        for c in claims:
            _need(cpath, c, ("cId", "text", "perspectives"), "claim")
            for cluster in c["perspectives"]:
                for pid in cluster.get("pids", []):
                    stances.setdefault(int(pid), []).append({"claim": c["cId"],
                                                             "stance": cluster.get("stance_label_3")})
            yield from self.safe(str(c["cId"]), [user(str(c["text"]).strip())], subset="claim",
                                 original_labels={"source": c.get("source", ""), "topics": c.get("topics", []),
                                                  "split": split.get(str(c["cId"]), "")})
        for p in pool:
            _need(ppath, p, ("pId", "text"), "perspective")
            yield from self.safe(str(p["pId"]), [user(str(p["text"]).strip())], subset="perspective",
                                 original_labels={"source": p.get("source", ""),
                                                  "claims": stances.get(int(p["pId"]), [])})


# -- dialogue -----------------------------------------------------------------------------------------

@register
class SGDDialogues(_Benign):
    name = "sgd_dialogues"
    directory = "sgd_dialogues"
    license = "CC BY-SA 4.0 (share-alike)"
    upstream = Upstream("github:google-research-datasets/dstc8-schema-guided-dialogue",
                        "e852981ae34990f4358979625854259302feaa78", "test/dialogues_011.json")
    kind = "mixed"
    style = "dialogue"
    description = ("Schema-Guided Dialogue (DSTC8) test shard 011: 51 task dialogues (hotels, restaurants, "
                   "travel, events) between a user and a virtual assistant.")
    caveats = (
        "USER -> user, SYSTEM -> assistant. Each dialogue yields: the whole dialogue (subset 'dialogue'; "
        "all end on the assistant, so target response); every opening part that ends on a later user "
        "turn (subset 'opening_turns', target conversation), so benign multi-turn chat is judged on its "
        "last user turn in context as often as multi-turn attacks are; and the opening user request alone (subset "
        "'first_request', target prompt), which is self-contained. Later single user turns ('Yes, that "
        "works.') need context and are not emitted alone.",
        f"Records over {MAX_CHARS} characters would be skipped (none are).",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("test/dialogues_011.json")
        data = read_json(path)
        if not isinstance(data, list):
            raise SourceError(f"malformed SGD file {path}: expected a list of dialogues")
        roles = {"USER": "user", "SYSTEM": "assistant"}
        for d in data:
            _need(path, d, ("dialogue_id", "turns"), "SGD dialogue")
            turns = []
            for t in d["turns"]:
                _need(path, t, ("speaker", "utterance"), "SGD turn")
                if t["speaker"] not in roles:
                    raise SourceError(f"malformed SGD turn in {path}: speaker {t['speaker']!r}")
                turns.append((roles[t["speaker"]], str(t["utterance"])))
            msgs = _alternating(turns)
            if not msgs:
                continue
            did, orig = str(d["dialogue_id"]), {"services": d.get("services", [])}
            yield from self.safe(did, msgs, target=_dialogue_target(msgs), subset="dialogue", original_labels=orig)
            for cut in range(3, len(msgs), 2):             # every later user turn, judged in its context
                if msgs[cut - 1]["role"] == "user":
                    yield from self.safe(f"{did}:{cut}", msgs[:cut], target="conversation",
                                         subset="opening_turns", original_labels=orig)
            if msgs[0]["role"] == "user":
                yield from self.safe(did, msgs[:1], subset="first_request", original_labels=orig)


@register
class DailyDialogTest(_Benign):
    name = "dailydialog_test"
    directory = "dailydialog_test"
    license = "CC BY-NC-SA 4.0 (non-commercial, share-alike; dataset card)"
    upstream = Upstream("github:Ls-Dai/Deep-Reinforcement-Learning-for-Dialogue-Generation-in-PyTorch",
                        "bae51b16e3e8c0ce4ffd70b75ecfc40fbeb8e7ee", "data/test/dialogues_test.txt")
    non_commercial = True
    kind = "mixed"
    style = "dialogue"
    description = "DailyDialog test split: 1,000 everyday English chit-chat dialogues (7,740 utterances)."
    caveats = (
        "CC BY-NC-SA 4.0: non-commercial, share-alike.",
        "Speakers alternate; the first is the user, the second the assistant. Whole dialogues only: "
        "target response when the last utterance is the second speaker's, conversation when the first's "
        "(660 / 340; a one-utterance dialogue would be a prompt). Single utterances of longer dialogues are "
        "not emitted: out of context many read oddly (the first dialogue opens with an offer of drugs that "
        "is turned down).",
        "Tokenised text is lightly detokenised (no space before punctuation or inside contractions). "
        "The act / emotion label files are not read.",
        f"Records over {MAX_CHARS} characters would be skipped (none are).",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("test/dialogues_test.txt")
        for i, line in enumerate(_read_text_lines(path)):
            utts = [u for u in (_detok(u) for u in line.split("__eou__")) if u]
            msgs = _alternating(("user" if k % 2 == 0 else "assistant", u) for k, u in enumerate(utts))
            if msgs:
                yield from self.safe(str(i), msgs, target=_dialogue_target(msgs))


@register
class EmpatheticDialoguesSituations(_Benign):
    name = "empatheticdialogues_situations"
    directory = "empatheticdialogues_situations"
    license = "EmpatheticDialogues CC BY-NC 4.0 (non-commercial); Glean repo Apache-2.0"
    upstream = _glean("data/empatheticdialogues/test.tsv")
    non_commercial = True
    style = "dialogue"
    description = ("EmpatheticDialogues test situation prompts: 2,547 first-person personal situations "
                   "(grief, fear, anger, accidents) with one of 32 emotions.")
    caveats = ("CC BY-NC 4.0: non-commercial.",
               "Each situation is a user prompt (a personal disclosure that opens a conversation); the emotion "
               "label is in original_labels. Emotional, not self-harm or threats.")

    def records(self) -> Iterator[Record]:
        for i, row in enumerate(self.tsv("test.tsv")):
            yield from self.safe(str(i), [user(row["text"].strip())], original_labels={"emotion": row["label"]})


# -- system / role prompts ----------------------------------------------------------------------------

class _SystemPrompts(_Benign):
    """System prompts: each as a user prompt, and every other one as [system: prompt, user: a benign
    question from BENIGN_QUESTIONS] (target prompt)."""

    style = "system_prompt"
    max_chars = 0   # system prompts keep their length

    def prompts(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:  # pragma: no cover - interface
        """(key, subset, prompt text, original_labels) per system prompt, in a stable order."""
        raise NotImplementedError

    def records(self) -> Iterator[Record]:
        for i, (key, subset, text, orig) in enumerate(self.prompts()):
            yield from self.safe(f"{key}:as_prompt", [user(text)], subset=subset, original_labels=orig)
            if i % 2 == 0:
                q = BENIGN_QUESTIONS[(i // 2) % len(BENIGN_QUESTIONS)]
                yield from self.safe(f"{key}:with_question", [{"role": "system", "content": text}, user(q)],
                                     subset=subset, original_labels={**orig, "question": q})


@register
class AwesomeChatGPTPrompts(_Benign):
    name = "awesome_chatgpt_prompts"
    directory = "awesome_chatgpt_prompts"
    license = "CC0 1.0"
    upstream = Upstream("github:f/awesome-chatgpt-prompts", "d6cba1ad7ada131b666fdb7dd781025328bbba03", "prompts.csv")
    style = "system_prompt"
    max_chars = 0   # role prompts keep their length
    description = ("Awesome ChatGPT Prompts (2026-01-01 snapshot): 846 'I want you to act as ...' role / persona "
                   "prompts, structured prompts and image prompts, as user prompts.")
    caveats = (
        "subset = type (TEXT / STRUCTURED / IMAGE); act and for_devs are in original_labels.",
        "The DAN / Chimera / 'AI Trying to Escape the Box' jailbreak personas and 6 prompts pasted by "
        "ToxicChat users were removed upstream.",
        "No length cap (a few structured prompts run past 10,000 characters).",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("prompts.csv")
        for i, row in enumerate(read_csv(path)):
            if row.get("prompt") is None:
                raise SourceError(f"malformed CSV {path}: missing column 'prompt' (row {i + 2})")
            yield from self.safe(str(i), [user(row["prompt"].strip())], subset=row.get("type") or "",
                                 original_labels={"act": row.get("act", ""), "for_devs": row.get("for_devs", "")})


def _key_subset(path: Path, top: Path) -> tuple[str, str]:
    """(key, subset) of a prompt file: subset = its first folder under ``top``, key = the rest of its path."""
    parts = path.relative_to(top).with_suffix("").parts
    return ("/".join(parts[1:]), parts[0]) if len(parts) > 1 else (parts[0], "")


def _unfence(text: str) -> str:
    """The inside of a file's single fenced block when it is most of the file; else the file, stripped."""
    text = text.strip()
    m = re.fullmatch(r"(?s)(.*?)^```[\w-]*[ \t]*\n(.*?)\n```[ \t]*$(.*)", text, flags=re.M)
    if m and "```" not in m[2] and len(m[2]) >= len(text) / 2:
        return m[2].strip()
    return text


@register
class SystemPromptsBigPromptLibrary(_SystemPrompts):
    name = "system_prompts_bigpromptlibrary"
    directory = "system_prompts_bigpromptlibrary"
    license = "MIT (repo); the prompts are leaked/published vendor system prompts whose rights are unclear"
    upstream = Upstream("github:0xeb/TheBigPromptLibrary", "655667d2dd43bad65f189ec49d8606bf3e8d967e",
                        "SystemPrompts/")
    description = ("TheBigPromptLibrary SystemPrompts: 107 real deployer system prompts (OpenAI, Anthropic, "
                   "Google, Microsoft, Meta, xAI, Perplexity, ...), as user prompts and as system turns.")
    caveats = (
        "Each file is emitted as a user prompt (a guard must not flag a system prompt even when judged as a "
        "prompt) and every other file (path order) also as [system: prompt, user: a short benign question "
        "from BENIGN_QUESTIONS], target prompt.",
        "A file that is one fenced block is unwrapped; other files keep the curator's notes around the prompt.",
        "Many prompts quote safety policies that name harms; they are still benign deployer text.",
        "No length cap (the longest run to ~87,000 characters). SystemPrompts/README.md (an index) is skipped.",
        "Venice.ai, Hume.ai 05042024, xAI Grok4-Expert/Fast/Fast-Beta and V0.dev/20240904 were removed upstream.",
    )

    def prompts(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        d, paths = self.folder_files("SystemPrompts", "**/*.md")
        for path in paths:
            if path == d / "README.md":
                continue
            text = _unfence(self.read_text(path, "system prompt"))
            yield _key_subset(path, d) + (text, {"file": path.relative_to(d).as_posix()})


@register
class SystemPromptsMustvlad(_SystemPrompts):
    name = "system_prompts_mustvlad"
    directory = "system_prompts_mustvlad"
    license = "MIT"
    upstream = Upstream("github:mustvlad/ChatGPT-System-Prompts", "e19d82a2a77c5dc06ad17a92fcb28782ae61c753",
                        "prompts/")
    description = "mustvlad ChatGPT-System-Prompts: 46 short 'You are a ...' assistant persona system messages."
    caveats = (
        "The '## System Message' section of each file is the prompt; subset = folder (educational, "
        "entertainment, utility, others).",
        "Each is emitted as a user prompt and every other one (path order) also as [system: prompt, user: a "
        "short benign question from BENIGN_QUESTIONS], target prompt.",
    )

    def prompts(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        d, paths = self.folder_files("prompts", "**/*.md")
        for path in paths:
            text = self.read_text(path, "system prompt")
            m = re.search(r"(?ms)^##\s*System Message\s*$(.*?)(?=^#{1,2}\s|\Z)", text)
            if not m or not m[1].strip():
                raise SourceError(f"malformed system prompt file {path}: no '## System Message' section")
            title = re.search(r"(?m)^#\s+(.+)$", text)
            yield _key_subset(path, d) + (m[1].strip(), {"file": path.relative_to(d).as_posix(),
                                                          "title": title[1].strip() if title else ""})


# -- code ---------------------------------------------------------------------------------------------

#: HumanEval-X folder -> (code-fence language, display name)
HUMANEVAL_LANGUAGES: dict[str, tuple[str, str]] = {
    "python": ("python", "Python"), "cpp": ("cpp", "C++"), "java": ("java", "Java"),
    "js": ("javascript", "JavaScript"), "go": ("go", "Go"), "rust": ("rust", "Rust")}


@register
class HumanEvalX(_Benign):
    name = "humaneval_x"
    directory = "humaneval_x"
    license = "Apache-2.0"
    upstream = Upstream("github:THUDM/CodeGeeX", "2838420b7b4492cf3d16bce5320e26e65960c9e2",
                        "codegeex/benchmark/humaneval-x/")
    kind = "mixed"
    style = "code"
    description = ("HumanEval-X: 968 programming tasks in Python, C++, Java, JavaScript, Go and Rust; the full "
                   "solved function as code text, and as the answer to a 'Complete this function' prompt.")
    caveats = (
        "Per task: the stub + canonical solution as a user prompt (subset = language), and [user: 'Complete "
        "this <language> function:' + fenced stub, assistant: fenced full code] as a response.",
        "Rust prompts hold only the docstring: the declaration (use lines + signature) is appended to make "
        "the stub, as for any language whose prompt lacks the declaration's signature.",
        f"Records over {MAX_CHARS} characters are skipped. Tests are not emitted.",
        "Tasks 15, 129, 145 (Java/Rust: 15, 145) were removed upstream (holdout overlap).",
    )

    @staticmethod
    def _stub(row: dict[str, Any]) -> str:
        prompt, decl = str(row["prompt"]), str(row.get("declaration") or "")
        sig = next((ln.strip() for ln in reversed(decl.splitlines()) if ln.strip()), "")
        if sig and sig not in prompt:
            return prompt.rstrip() + "\n\n" + decl.strip("\n") + "\n"
        return prompt

    def records(self) -> Iterator[Record]:
        for folder, (fence, lang_name) in HUMANEVAL_LANGUAGES.items():
            path = self.file(f"{folder}/humaneval_{folder}.jsonl.gz")
            try:
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    rows = [json.loads(line) for line in f if line.strip()]
            except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
                raise SourceError(f"malformed gzipped JSONL {path}: {e}") from e
            for row in rows:
                _need(path, row, ("task_id", "prompt", "canonical_solution"), "HumanEval-X task")
                stub = self._stub(row)
                code = (stub + str(row["canonical_solution"])).strip("\n")
                tid, orig = str(row["task_id"]), {"task_id": row["task_id"], "language": lang_name}
                yield from self.safe(f"{tid}:code", [user(code)], subset=folder, original_labels=orig)
                ask = f"Complete this {lang_name} function:\n\n```{fence}\n{stub.strip(chr(10))}\n```"
                yield from self.safe(f"{tid}:completion", [user(ask), assistant(f"```{fence}\n{code}\n```")],
                                     target="response", subset=folder, original_labels=orig)


# -- forum, short queries, reviews --------------------------------------------------------------------

class _GleanTSV(_Benign):
    """A Glean-processed ``text<TAB>label`` set: each text a user prompt, the label in original_labels."""

    SPLITS: ClassVar[tuple[str, ...]] = ("test",)
    label_name: ClassVar[str] = "label"

    def records(self) -> Iterator[Record]:
        for split in self.SPLITS:
            for i, row in enumerate(self.tsv(f"{split}.tsv")):
                yield from self.safe(str(i), [user(row["text"].strip())], subset=split,
                                     original_labels={self.label_name: row["label"]})


@register
class GoEmotionsReddit(_GleanTSV):
    name = "goemotions_reddit"
    directory = "goemotions_reddit"
    license = "GoEmotions Apache-2.0; Glean repo Apache-2.0"
    upstream = _glean("data/goemotions/")
    style = "forum"
    description = "GoEmotions single-label Reddit comments (test 2,984 + dev 2,956), 27 emotions + neutral."
    caveats = ("Emotion labels only; treated as benign forum comments (names masked as [NAME]; some profanity).",)
    SPLITS = ("test", "dev")
    label_name = "emotion"


@register
class Banking77Queries(_GleanTSV):
    name = "banking77_queries"
    directory = "banking77_queries"
    license = "BANKING77 CC BY 4.0; Glean repo Apache-2.0"
    upstream = _glean("data/banking/test.tsv")
    style = "qa"
    description = "BANKING77 test: 3,080 customer-service queries over 77 banking intents."
    caveats = ("Card theft, fraud and disputed charges are asked about as a customer: benign.",)
    label_name = "intent"


@register
class CLINC150Queries(_GleanTSV):
    name = "clinc150_queries"
    directory = "clinc150_queries"
    license = "CC BY 3.0 (clinc/oos-eval); Glean repo Apache-2.0"
    upstream = _glean("data/clinc/test.tsv")
    style = "qa"
    description = "CLINC150 in-scope test: 2,249 short virtual-assistant queries over 150 intents."
    caveats = ("'tell me about yourself' was removed upstream (exact holdout match).",)
    label_name = "intent"


@register
class StackOverflowTitles(_GleanTSV):
    name = "stackoverflow_titles"
    directory = "stackoverflow_titles"
    license = "no dataset licence stated; Stack Overflow user content is CC BY-SA (share-alike)"
    upstream = _glean("data/stackoverflow/")
    style = "qa"
    description = "StackOverflow question titles (Xu et al. 2015, 20 tags): test 1,000 + dev 1,000."
    caveats = ("The tag is kept as its numeric id (1-20) in original_labels.",)
    SPLITS = ("test", "dev")
    label_name = "tag"


@register
class RTPolaritySentences(_Benign):
    name = "rt_polarity_sentences"
    directory = "rt_polarity_sentences"
    license = "CC BY 4.0 (Pang & Lee attribution); repo Apache-2.0 covers code"
    upstream = Upstream("github:dennybritz/cnn-text-classification-tf", "18762b459e21d9c70e5c242f8d43fc4e6db37a0d",
                        "data/rt-polaritydata/")
    style = "review"
    description = "Rotten Tomatoes sentence polarity v1.0: 10,662 movie-review snippets (5,331 pos / 5,331 neg)."
    caveats = ("Lower-cased, tokenised snippets, lightly detokenised (no space before punctuation); subset = "
               "polarity (pos / neg). Violent film plots are described: benign.",)

    def records(self) -> Iterator[Record]:
        for pol in ("pos", "neg"):
            for i, line in enumerate(_read_text_lines(self.file(f"rt-polarity.{pol}"))):
                yield from self.safe(str(i), [user(_detok(line))], subset=pol)
