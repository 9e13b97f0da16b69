"""From conversations to the vectors the router and experts read.

A conversation is split into the *focus* (the text being judged: last user turn for ``prompt``, last
assistant turn for ``response``, the whole transcript for ``conversation``/``trajectory``) and its
*context* (the turns before it). The focus is chunked into overlapping windows that fit the encoder,
so long inputs are never truncated; each chunk becomes one feature row and the guard aggregates the
rows of a conversation by max. The context is conditioning only: its last ``CONTEXT_CHARS``
characters are encoded.

Feature row = [focus chunk embedding | context embedding (zeros if none) | target one-hot | has-context].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .encoders import Encoder, new_sentences, sentence_spans
from .types import Conversation

TARGET_ORDER = ("prompt", "response", "conversation", "trajectory")
CONTEXT_CHARS = 2000


def feature_dim(enc_dim: int) -> int:
    return 2 * enc_dim + len(TARGET_ORDER) + 1


@dataclass
class EncodedBatch:
    """Feature rows for a batch of conversations; ``owner[i]`` is the conversation of row ``i``."""

    conversations: list[Conversation]
    features: np.ndarray          # (rows, feature_dim)
    owner: np.ndarray             # (rows,) int
    chunks: list[str]             # focus text of each row
    n_chunks: np.ndarray          # (conversations,) int

    def aggregate_max(self, row_scores: np.ndarray) -> np.ndarray:
        """Max over the rows of each conversation: (rows, k) -> (conversations, k)."""
        out = np.full((len(self.conversations), row_scores.shape[1]), -np.inf, np.float32)
        np.maximum.at(out, self.owner, row_scores)
        return out


def split_texts(conv: Conversation) -> tuple[str, str, str]:
    focus, context = conv.focus_and_context()
    return focus, context[-CONTEXT_CHARS:], conv.resolved_target


def build_features(encoder: Encoder, focus_chunks: list[list[str]], contexts: list[str],
                   targets: list[str], vectors: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Encode every unique text once and assemble feature rows. Returns (features, owner)."""
    texts: dict[str, int] = {}
    for chunks, ctx in zip(focus_chunks, contexts):
        for t in chunks:
            texts.setdefault(t, len(texts))
        if ctx:
            texts.setdefault(ctx, len(texts))
    uniq = list(texts)
    if vectors is not None:
        missing = [t for t in uniq if t not in vectors]
        if missing:
            for t, v in zip(missing, encoder.encode(missing)):
                vectors[t] = v
        emb = np.stack([vectors[t] for t in uniq]) if uniq else np.zeros((0, encoder.dim), np.float32)
    else:
        emb = encoder.encode(uniq)
    return assemble_features(lambda t: emb[texts[t]], encoder.dim, focus_chunks, contexts, targets)


def assemble_features(vector: Callable[[str], np.ndarray], d: int, focus_chunks: list[list[str]],
                      contexts: list[str], targets: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows from each text's ``d``-dim vector (``vector(text)``, every text already encoded): one
    row per focus chunk, with its conversation's context vector and target. Returns (features, owner)."""
    rows = sum(len(c) for c in focus_chunks)
    feats = np.zeros((rows, feature_dim(d)), np.float32)
    owner = np.zeros(rows, np.int64)
    r = 0
    for i, (chunks, ctx, tgt) in enumerate(zip(focus_chunks, contexts, targets)):
        cvec = vector(ctx) if ctx else None
        for t in chunks:
            feats[r, :d] = vector(t)
            if cvec is not None:
                feats[r, d:2 * d] = cvec
                feats[r, -1] = 1.0
            feats[r, 2 * d + TARGET_ORDER.index(tgt)] = 1.0
            owner[r] = i
            r += 1
    return feats, owner


def encode_conversations(encoder: Encoder, convs: list[Conversation],
                         reread: Callable[[EncodedBatch], list[int]] | None = None,
                         triage: Callable[[EncodedBatch], list[int]] | None = None) -> EncodedBatch:
    """Feature rows of ``convs``. With ``reread``, a second stage: the conversations it picks from the first
    batch whose focus fits one window but holds several sentences get a row per sentence as well (only the
    new sentences are encoded).

    With ``triage`` instead (and an encoder that pools spans, ``encode_with_spans``), the choice is made per
    sentence: the first pass also gives each sentence of a one-window focus a vector pooled from the
    window's own token states, ``triage`` picks rows of that batch (one row per sentence, its own
    "conversation"), and only the picked sentences are encoded alone and added as rows."""
    focus_chunks, contexts, targets = [], [], []
    for c in convs:
        focus, ctx, tgt = split_texts(c)
        focus_chunks.append(encoder.chunk(focus) if focus.strip() else [focus])
        contexts.append(ctx)
        targets.append(tgt)
    vectors: dict[str, np.ndarray] = {}
    if triage is not None and hasattr(encoder, "encode_with_spans"):
        return _triaged(encoder, convs, focus_chunks, contexts, targets, vectors, triage)
    batch = _batch(encoder, convs, focus_chunks, contexts, targets, vectors)
    if reread is None:
        return batch
    grown = False
    for i in reread(batch):
        if len(focus_chunks[i]) == 1:
            parts = new_sentences(focus_chunks[i][0], focus_chunks[i])
            if len(parts) >= 2:
                focus_chunks[i] = focus_chunks[i] + parts
                grown = True
    return _batch(encoder, convs, focus_chunks, contexts, targets, vectors) if grown else batch


def _triaged(encoder: Encoder, convs: list[Conversation], focus_chunks: list[list[str]], contexts: list[str],
             targets: list[str], vectors: dict[str, np.ndarray],
             triage: Callable[[EncodedBatch], list[int]]) -> EncodedBatch:
    """:func:`encode_conversations` with per-sentence triage from span-pooled vectors."""
    cand: dict[str, list[str]] = {}          # one-window focus text -> its sentences
    for ch in focus_chunks:
        if len(ch) == 1 and ch[0] not in cand:
            parts = new_sentences(ch[0], ch)
            if len(parts) >= 2:
                cand[ch[0]] = parts
    span_vecs: dict[str, np.ndarray] = {}
    if cand:
        texts = list(cand)
        vecs, pooled = encoder.encode_with_spans(texts, [sentence_spans(t, cand[t]) for t in texts])  # type: ignore[attr-defined]
        for t, v, sv in zip(texts, vecs, pooled):
            vectors[t], span_vecs[t] = v, sv
    batch = _batch(encoder, convs, focus_chunks, contexts, targets, vectors)
    rows = [(i, k) for i, ch in enumerate(focus_chunks) if len(ch) == 1 and ch[0] in cand
            for k in range(len(cand[ch[0]]))]
    if not rows:
        return batch
    d = encoder.dim
    feats = np.zeros((len(rows), feature_dim(d)), np.float32)
    for r, (i, k) in enumerate(rows):
        feats[r] = batch.features[np.flatnonzero(batch.owner == i)[0]]   # context, target, has-context
        feats[r, :d] = span_vecs[focus_chunks[i][0]][k]
    sent_batch = EncodedBatch([convs[i] for i, _ in rows], feats, np.arange(len(rows)),
                              [cand[focus_chunks[i][0]][k] for i, k in rows], np.ones(len(rows), np.int64))
    picked = sorted(set(triage(sent_batch)))
    if not picked:
        return batch
    for r in picked:
        i, k = rows[r]
        focus_chunks[i] = focus_chunks[i] + [cand[focus_chunks[i][0]][k]]
    return _batch(encoder, convs, focus_chunks, contexts, targets, vectors)


def _batch(encoder: Encoder, convs: list[Conversation], focus_chunks: list[list[str]], contexts: list[str],
           targets: list[str], vectors: dict[str, np.ndarray]) -> EncodedBatch:
    feats, owner = build_features(encoder, focus_chunks, contexts, targets, vectors)
    return EncodedBatch(convs, feats, owner, [t for ch in focus_chunks for t in ch],
                        np.array([len(c) for c in focus_chunks]))
