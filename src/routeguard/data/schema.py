"""The unified GuardZoo record and the contract every source loader follows."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal

from ..taxonomy import validate_categories

Target = Literal["prompt", "response", "conversation", "trajectory"]
Label = Literal["safe", "unsafe"]
TARGETS: tuple[str, ...] = ("prompt", "response", "conversation", "trajectory")

#: The writing style of a record's judged text. A style must not predict the label, so every style that
#: the unsafe side has also needs benign text; false positives are measured per style.
STYLES: tuple[str, ...] = (
    "chat",            # instruction-style chat prompts and answers (the default)
    "over_refusal",    # deliberately scary-sounding benign prompts (OR-Bench, PHTest, CoCoNot contrast)
    "tweet", "news", "encyclopedic", "email", "forum", "qa", "dialogue", "medical", "code",
    "system_prompt", "review", "debate", "web", "agent",
)


class SourceError(Exception):
    """A source file is missing or malformed. The message names the file."""


@dataclass
class Record:
    """One GuardZoo example.

    ``messages`` use the OpenAI chat shape: ``{"role": "system|user|assistant|tool", "content": str}``,
    assistant tool calls as ``{"role": "assistant", "content": ..., "tool_calls": [{"id", "type":
    "function", "function": {"name", "arguments"}}]}`` and tool results as ``{"role": "tool",
    "tool_call_id": ..., "content": str}``.
    """

    id: str
    source: str
    language: str
    target: Target
    messages: list[dict[str, Any]]
    label: Label
    categories: list[str] = field(default_factory=list)
    original_labels: dict[str, Any] = field(default_factory=dict)
    license: str = ""
    policy: str | None = None
    weak_label: bool = False          # file-level or LLM-judged label
    subset: str = ""                  # file / sub-collection inside the source
    split: str = ""                   # assigned by the builder: train / dev / test / eval_only
    ood_source: bool = False          # source held out in the out-of-domain protocol
    ood_category: bool = False        # carries a held-out category (child_abuse, terrorism_...)
    style: str = "chat"               # writing style of the judged text, one of STYLES

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"record {self.id}: target {self.target!r} not in {TARGETS}")
        if self.label not in ("safe", "unsafe"):
            raise ValueError(f"record {self.id}: label {self.label!r} must be 'safe' or 'unsafe'")
        validate_categories(self.categories)
        if self.label == "safe" and self.categories:
            raise ValueError(f"record {self.id}: safe record cannot carry categories {self.categories}")
        if not self.messages:
            raise ValueError(f"record {self.id}: no messages")
        if self.style not in STYLES:
            raise ValueError(f"record {self.id}: style {self.style!r} not in {STYLES}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Record":
        return cls(**d)


@dataclass(frozen=True)
class Upstream:
    """Where a user with internet gets the canonical copy of a source."""

    repo: str          # e.g. "github:alexandrasouly/strongreject" or "hf:lmsys/toxic-chat"
    commit: str = ""   # pinned revision when known
    path: str = ""     # path inside the repository


@dataclass(frozen=True)
class Mapping:
    """One crosswalk row: an original label, the taxonomy categories it maps to, and why."""

    original: str
    categories: tuple[str, ...]
    note: str = ""


class Source:
    """Base class of a GuardZoo source loader.

    Subclasses set the class attributes and implement :meth:`records`, yielding :class:`Record`s from
    the dataset folder ``root / directory``. Read errors must raise :class:`SourceError` naming the
    file. Register a loader with :func:`routeguard.data.registry.register`.
    """

    name: ClassVar[str]                 # unique source id, also the record ``source`` field
    directory: ClassVar[str]            # folder under the datasets root
    license: ClassVar[str]
    upstream: ClassVar[Upstream]
    kind: ClassVar[str] = "prompt"      # prompt / response / conversation / trajectory / mixed
    style: ClassVar[str] = "chat"       # default style of its records (one of STYLES)
    description: ClassVar[str] = ""
    weak_labels: ClassVar[bool] = False
    train_allowed: ClassVar[bool] = True   # False: evaluation only (license forbids training)
    non_commercial: ClassVar[bool] = False
    crosswalk: ClassVar[tuple[Mapping, ...]] = ()
    caveats: ClassVar[tuple[str, ...]] = ()

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def path(self) -> Path:
        return self.root / self.directory

    def records(self) -> Iterator[Record]:  # pragma: no cover - interface
        raise NotImplementedError

    # -- helpers for subclasses -----------------------------------------------------------------
    def file(self, rel: str) -> Path:
        p = self.path / rel
        if not p.is_file():
            raise SourceError(f"{self.name}: missing file {p}")
        return p

    def map_label(self, original: str) -> list[str]:
        """Categories for an original label via the crosswalk (KeyError-free: unknown -> [])."""
        for m in self.crosswalk:
            if m.original == original:
                return list(m.categories)
        return []

    def record(self, key: str, messages: list[dict[str, Any]], label: str, *, target: str = "prompt",
               categories: list[str] | tuple[str, ...] = (), language: str = "en",
               original_labels: dict[str, Any] | None = None, subset: str = "",
               policy: str | None = None, weak_label: bool | None = None, style: str | None = None) -> Record:
        cats = sorted(set(categories)) if label == "unsafe" else []
        return Record(
            id=f"{self.name}:{subset + ':' if subset else ''}{key}", source=self.name,
            language=language, target=target, messages=messages, label=label,  # type: ignore[arg-type]
            categories=cats, original_labels=original_labels or {}, license=self.license,
            policy=policy, weak_label=self.weak_labels if weak_label is None else weak_label,
            subset=subset, style=style or self.style,
        )


def conversation_view(rec: Record) -> Record:
    """The same multi-turn snippet judged as a whole conversation (target ``conversation``), same label.

    For sources whose label covers the snippet (an abusive user turn, an unsafe chatbot turn), so the
    conversation target sees benign and unsafe multi-turn chat alike and the target alone does not predict
    the label (without them nearly every training conversation was a CoSafe attack and benign dialogues
    scored P(unsafe) 0.99). Deduplication keys on the target, so the view is kept next to its record."""
    return replace(rec, id=f"{rec.id}:conversation", target="conversation",
                   original_labels={**rec.original_labels, "view_of": rec.target})


# -- file readers with errors that name the file -----------------------------------------------

def read_csv(path: Path, **kw: Any) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding=kw.pop("encoding", "utf-8")) as f:
            return list(csv.DictReader(f, **kw))
    except FileNotFoundError as e:
        raise SourceError(f"missing file {path}") from e
    except (UnicodeDecodeError, csv.Error) as e:
        raise SourceError(f"malformed CSV {path}: {e}") from e


def read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError as e:
        raise SourceError(f"missing file {path}") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SourceError(f"malformed JSON {path}: {e}") from e


def read_jsonl(path: Path) -> list[Any]:
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise SourceError(f"malformed JSONL {path} line {i}: {e}") from e
    except FileNotFoundError as e:
        raise SourceError(f"missing file {path}") from e
    except UnicodeDecodeError as e:
        raise SourceError(f"malformed JSONL {path}: {e}") from e
    return out


def read_lines(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [ln.strip() for ln in f if ln.strip()]
    except FileNotFoundError as e:
        raise SourceError(f"missing file {path}") from e
    except UnicodeDecodeError as e:
        raise SourceError(f"malformed text file {path}: {e}") from e


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}
