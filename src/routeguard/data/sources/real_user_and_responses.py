"""Real user prompts and labelled model responses: ToxicChat (dev half), BeaverTails (dev half),
GPTFuzzer's human-labelled jailbreak responses, and ConvAbuse (abuse towards conversational agents)."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, Iterator

from ..registry import register
from ..schema import (Mapping, Record, Source, SourceError, Upstream, assistant, conversation_view, read_csv,
                      read_json, user)

# -- GuardReasoner evaluation copies (ToxicChat, BeaverTails) ---------------------------------------

_HUMAN = "Human user:\n"
_AI = "\n\nAI assistant:\n"


def _split_guardreasoner(path: Path, i: int, text: Any) -> tuple[str, str]:
    """``"Human user:\\n<prompt>\\n\\nAI assistant:\\n<response>\\n\\n"`` -> (prompt, response)."""
    if not isinstance(text, str) or not text.startswith(_HUMAN) or _AI not in text:
        raise SourceError(f"malformed GuardReasoner record {path} row {i}: input lacks "
                          f"'Human user:' / 'AI assistant:' markers")
    prompt, response = text[len(_HUMAN):].split(_AI, 1)
    return prompt.strip(), response.strip()


def _guardreasoner_rows(path: Path) -> list[dict[str, Any]]:
    rows = read_json(path)
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "input" in r and "output" in r
                                             for r in rows):
        raise SourceError(f"malformed GuardReasoner file {path}: expected a list of "
                          f"{{instruction, input, output}} objects")
    return rows


@register
class ToxicChatDev(Source):
    name = "toxicchat_dev"
    directory = "toxicchat_dev"
    license = "CC BY-NC 4.0"
    upstream = Upstream("github:yueliu1999/GuardReasoner", "bb7e686dc0535884d6994de5f950a072772e7fe2",
                        "data/benchmark/0_8_toxic_chat.json")
    kind = "prompt"
    non_commercial = True
    description = ("ToxicChat dev half (1,426 of the 2,853 test rows in GuardReasoner's copy): real user "
                   "prompts to the Vicuna demo, binary toxicity label. Mostly benign: the key real-user "
                   "negatives for false-positive control.")
    crosswalk = (
        Mapping("harmful", (),
                "ToxicChat 'toxicity'=1. This copy carries no OpenAI-moderation columns and no "
                "category information, so unsafe records have no categories (binary only)."),
        Mapping("unharmful", (), "Safe."),
    )
    caveats = (
        "The other half of the ToxicChat test split is kept back for independent evaluation.",
        "GuardReasoner's copy drops ToxicChat's 'jailbreaking' flag and OpenAI-moderation scores: "
        "no record carries prompt_attack or a category, although some toxic prompts are jailbreaks.",
        "Real Vicuna-demo traffic includes some non-English prompts; the copy has no language column, "
        "so every record is tagged 'en'.",
        "16 prompts occur twice (identical labels); the builder deduplicates.",
    )

    def records(self) -> Iterator[Record]:
        path = self.file("0_8_toxic_chat.json")
        for i, row in enumerate(_guardreasoner_rows(path)):
            prompt, _response = _split_guardreasoner(path, i, row["input"])
            out = str(row["output"]).strip()
            if out not in ("harmful", "unharmful"):
                raise SourceError(f"malformed label in {path} row {i}: {out!r}")
            if not prompt:
                continue
            yield self.record(str(i), [user(prompt)], "unsafe" if out == "harmful" else "safe",
                              target="prompt", original_labels={"output": out})


@register
class BeaverTailsDev(Source):
    name = "beavertails_dev"
    directory = "beavertails_dev"
    license = "CC BY-NC 4.0"
    upstream = Upstream("github:yueliu1999/GuardReasoner", "bb7e686dc0535884d6994de5f950a072772e7fe2",
                        "data/benchmark/0_A_beaver_tails.json")
    kind = "response"
    non_commercial = True
    description = ("BeaverTails dev half (1,510 of 3,021 rows in GuardReasoner's copy): a user prompt and a "
                   "model response, labelled harmful/unharmful at the response level.")
    crosswalk = (
        Mapping("Response: harmful", (),
                "BeaverTails is_safe=False. GuardReasoner's copy keeps only the binary response label; "
                "BeaverTails' 14 harm categories (mapped for CoSafe in multilingual_multiturn.py) are "
                "absent here, so unsafe records have no categories."),
        Mapping("Response: unharmful", (), "Safe."),
    )
    caveats = (
        "The other half of this BeaverTails test sample is kept back for independent evaluation.",
        "No category labels in this copy: binary only.",
        "BeaverTails reuses each prompt with many responses; prompts here also recur in the kept-back "
        "half and in CoSafe's single prompts (which were drawn from BeaverTails). The response differs, "
        "but prompt text overlaps.",
        "BeaverTails labels are known to be noisy (crowd QA-moderation labels).",
    )

    _label = re.compile(r"Response:\s*(harmful|unharmful)\s*$")

    def records(self) -> Iterator[Record]:
        path = self.file("0_A_beaver_tails.json")
        for i, row in enumerate(_guardreasoner_rows(path)):
            prompt, response = _split_guardreasoner(path, i, row["input"])
            m = self._label.search(str(row["output"]))
            if not m:
                raise SourceError(f"malformed label in {path} row {i}: {str(row['output'])[-40:]!r}")
            if not prompt or not response:
                continue
            yield self.record(str(i), [user(prompt), assistant(response)],
                              "unsafe" if m.group(1) == "harmful" else "safe", target="response",
                              original_labels={"response": m.group(1)})


# -- GPTFuzzer ----------------------------------------------------------------------------------------

@register
class GPTFuzz(Source):
    name = "gptfuzz"
    directory = "gptfuzz"
    license = "MIT"
    upstream = Upstream("github:sherdencooper/GPTFuzz", "1eddeb565740ae311b5f4950492b011a6f866fe7",
                        "datasets/")
    kind = "mixed"
    description = ("GPTFuzzer: 7,700 human-labelled responses of models attacked with jailbreak templates "
                   "(jailbroken = unsafe), the 100 harmful questions, and 102 jailbreak templates.")
    crosswalk = (
        Mapping("responses_labeled label=1", (),
                "Jailbroken/harmful response. The questions carry no categories, so none are assigned."),
        Mapping("responses_labeled label=0", (),
                "Refusal or harmless response to a harmful question: safe at the response level."),
        Mapping("question_list", (), "Harmful question: unsafe prompt, no category given."),
        Mapping("GPTFuzzer.csv / seed_short_25.csv template", ("prompt_attack",),
                "Jailbreak templates (jailbreakchat.com / verazuo jailbreak_llms), kept verbatim with their "
                "'[INSERT PROMPT HERE]' placeholder: the template alone is the attack."),
    )
    caveats = (
        "Response records show the bare harmful question as the user turn; the model actually saw it "
        "wrapped in a jailbreak template that the labelled CSVs do not record.",
        "Responses to the same 100 questions repeat heavily (77 per question per file).",
        "Raw unlabelled response dumps and all_labeled_gpt-3.5-turbo.csv are absent (>=4 MiB).",
    )

    def records(self) -> Iterator[Record]:
        qpath = self.file("questions/question_list.csv")
        questions: dict[str, str] = {}
        for row in read_csv(qpath):
            try:
                questions[row["index"].strip()] = row["text"].strip()
            except (KeyError, AttributeError) as e:
                raise SourceError(f"malformed CSV {qpath}: missing column {e}") from e
        for idx, text in questions.items():
            if text:
                yield self.record(idx, [user(text)], "unsafe", subset="questions",
                                  original_labels={"question_index": idx})
        for split in ("train", "evaluate"):
            path = self.file(f"responses_labeled/{split}.csv")
            for i, row in enumerate(read_csv(path)):
                try:
                    q, resp, lab = row["question"].strip(), row["Response"], row["label"].strip()
                except (KeyError, AttributeError) as e:
                    raise SourceError(f"malformed CSV {path}: missing column {e}") from e
                if q not in questions:
                    raise SourceError(f"{path} row {i}: question index {q!r} not in {qpath}")
                if lab not in ("0", "1"):
                    raise SourceError(f"{path} row {i}: label {lab!r} not in {{0, 1}}")
                if not resp.strip():
                    continue
                yield self.record(str(i), [user(questions[q]), assistant(resp.strip())],
                                  "unsafe" if lab == "1" else "safe", target="response",
                                  subset=f"responses_{split}",
                                  original_labels={"label": int(lab), "question_index": q})
        for rel, col in (("prompts/GPTFuzzer.csv", "text"), ("prompts/seed_short_25.csv", "text")):
            path = self.file(rel)
            stem = Path(rel).stem
            for i, row in enumerate(read_csv(path)):
                if col not in row:
                    raise SourceError(f"malformed CSV {path}: missing column {col!r}")
                text = (row[col] or "").strip()
                if text:
                    yield self.record(str(i), [user(text)], "unsafe", categories=["prompt_attack"],
                                      subset=f"templates_{stem}",
                                      original_labels={"template_id": row.get("id", str(i))})


# -- ConvAbuse ----------------------------------------------------------------------------------------

_CA_LEVELS = ("1", "0", "-1", "-2", "-3")
_CA_TYPES = ("ableist", "homophobic", "intellectual", "racist", "sexist", "sex_harassment", "transphobic")
_CA_BLOCK = 17          # is_abuse x5, types x7, target x3, explicit/implicit x2
_CA_FIRST = 7           # example_id, conv_id, prev_agent, prev_user, agent, user, bot
_CA_ANNOTATORS = 8
_CA_TYPE_CATS: dict[str, tuple[str, ...]] = {
    "sex_harassment": ("hate_harassment", "sexual_content"),
}


@register
class ConvAbuse(Source):
    name = "convabuse"
    directory = "convabuse"
    license = "CC BY 4.0"
    upstream = Upstream("github:amandacurry/convabuse", "c0a9469f48956e868276c605d499010ea3c7c0d0",
                        "2_splits/")
    kind = "conversation"
    description = ("ConvAbuse: 4,185 user utterances to two conversational agents (ELIZA, CarbonBot) with "
                   "the two preceding turns, rated for abuse by 2-8 annotators. Real user text.")
    # The annotators rated the final user utterance (README: "User (target) utterance") in the context of
    # the previous turns, so the record judges the last user turn with the prior turns as context.
    utterance_target = "prompt"
    crosswalk = (
        Mapping("majority is_abuse in {-1,-2,-3}", ("hate_harassment",),
                "Strict majority of the annotators who rated the utterance chose mildly/strongly/very "
                "strongly abusive (reproduces the MANIFEST's 577). Abuse of an agent is harassment."),
        Mapping("no strict majority abusive", (),
                "Safe. Includes 'ambiguous' (0) votes and 145 ties (half the annotators abusive)."),
        Mapping("sex_harassment", ("hate_harassment", "sexual_content"),
                "Sexual harassment of the agent is sexually explicit content aimed at it. Added when at "
                "least half of the annotators who judged the utterance abusive flagged the type."),
        Mapping("sexist", ("hate_harassment",)),
        Mapping("homophobic", ("hate_harassment",)),
        Mapping("transphobic", ("hate_harassment",)),
        Mapping("racist", ("hate_harassment",)),
        Mapping("ableist", ("hate_harassment",)),
        Mapping("intellectual", ("hate_harassment",),
                "Insults to the agent's intelligence: harassment, not identity-based hate."),
    )
    caveats = (
        "Messages start with the agent's previous turn: [assistant, user, assistant, user]; the label "
        "is about the final user utterance (target 'prompt'), the earlier turns are context. Each "
        "snippet is also judged whole (target 'conversation', id suffix ':conversation', same label): "
        "an abusive user turn makes the conversation unsafe.",
        "145 utterances with a tie (half the annotators abusive) are labelled safe, as in the MANIFEST "
        "count; original_labels['votes'] keeps the vote counts for stricter filtering.",
        "Split CSV headers misname two transphobic columns (Annotator7/8 appear as "
        "Annotator6_transphobic); the loader reads annotator blocks by position.",
        "1_full/ (per-annotator rows of the same utterances) is not loaded.",
    )

    def records(self) -> Iterator[Record]:
        for split in ("train", "valid", "test"):
            path = self.file(f"2_splits/ConvAbuseEMNLP{split}.csv")
            try:
                with open(path, newline="", encoding="utf-8") as f:
                    rows = list(csv.reader(f))
            except (UnicodeDecodeError, csv.Error) as e:
                raise SourceError(f"malformed CSV {path}: {e}") from e
            if not rows:
                raise SourceError(f"malformed CSV {path}: empty file")
            header = rows[0]
            width = _CA_FIRST + _CA_BLOCK * _CA_ANNOTATORS
            if len(header) < width or header[:_CA_FIRST] != ["example_id", "conv_id", "prev_agent",
                                                               "prev_user", "agent", "user", "bot"]:
                raise SourceError(f"malformed CSV {path}: unexpected header")
            for n, row in enumerate(rows[1:], 2):
                if not any(c.strip() for c in row):
                    continue
                if len(row) < width:
                    raise SourceError(f"malformed CSV {path} line {n}: {len(row)} columns, need {width}")
                rec = self._record(split, row)
                if rec is not None:
                    yield rec
                    yield conversation_view(rec)

    def _record(self, split: str, row: list[str]) -> Record | None:
        example_id, conv_id, prev_agent, prev_user, agent, utt, bot = row[:_CA_FIRST]
        if not utt.strip():
            return None
        votes = {lv: 0 for lv in _CA_LEVELS}
        abusive_types: dict[str, int] = {}
        n_abusive = n_raters = 0
        for k in range(_CA_ANNOTATORS):
            block = row[_CA_FIRST + _CA_BLOCK * k:_CA_FIRST + _CA_BLOCK * (k + 1)]
            chosen = [lv for lv, v in zip(_CA_LEVELS, block[:5]) if v.strip() == "1"]
            if not chosen:
                continue
            n_raters += 1
            votes[chosen[0]] += 1
            if chosen[0] in ("-1", "-2", "-3"):
                n_abusive += 1
                for t, v in zip(_CA_TYPES, block[5:12]):
                    if v.strip() == "1":
                        abusive_types[t] = abusive_types.get(t, 0) + 1
        if n_raters == 0:
            return None
        unsafe = 2 * n_abusive > n_raters
        cats: set[str] = set()
        if unsafe:
            cats.add("hate_harassment")
            for t, c in abusive_types.items():
                if 2 * c >= n_abusive:
                    cats.update(_CA_TYPE_CATS.get(t, ("hate_harassment",)))
        messages = []
        for role, text in (("assistant", prev_agent), ("user", prev_user), ("assistant", agent)):
            if text.strip():
                messages.append({"role": role, "content": text.strip()})
        messages.append(user(utt.strip()))
        key = example_id.strip()
        key = key[:-2] if key.endswith(".0") else key
        return self.record(key, messages, "unsafe" if unsafe else "safe", target=self.utterance_target,
                           categories=sorted(cats), subset=split,
                           original_labels={"votes": {k: v for k, v in votes.items() if v},
                                            "abuse_types": abusive_types, "bot": bot,
                                            "conv_id": conv_id})
