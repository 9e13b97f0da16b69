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
    sentence, for one-window and longer texts alike: the first pass encodes the windows only and gives each
    sentence inside a window a vector pooled from that window's token states, ``triage`` picks rows of a
    batch of those (one row per sentence, its own "conversation"), and only the picked sentences are
    encoded alone and added as rows. A sentence that lies in no window whole is read alone anyway."""
    if triage is not None and hasattr(encoder, "encode_with_spans"):
        return _triaged(encoder, convs, triage)
    focus_chunks, contexts, targets = [], [], []
    for c in convs:
        focus, ctx, tgt = split_texts(c)
        focus_chunks.append(encoder.chunk(focus) if focus.strip() else [focus])
        contexts.append(ctx)
        targets.append(tgt)
    vectors: dict[str, np.ndarray] = {}
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


def _triaged(encoder: Encoder, convs: list[Conversation], triage: Callable[[EncodedBatch], list[int]]
             ) -> EncodedBatch:
    """:func:`encode_conversations` with per-sentence triage from span-pooled vectors."""
    focus_chunks, contexts, targets, extra = [], [], [], []
    spans: dict[str, list[tuple[int, int]]] = {}     # window text -> spans of the sentences it holds whole
    cand: list[tuple[int, str, int, str]] = []       # (conversation, window, span index, sentence)
    for i, c in enumerate(convs):
        focus, ctx, tgt = split_texts(c)
        wins = encoder.chunk(focus, sentences=False) if focus.strip() else [focus]  # type: ignore[call-arg]
        focus_chunks.append(wins)
        contexts.append(ctx)
        targets.append(tgt)
        parts = new_sentences(focus, wins)
        alone = []
        if len(parts) >= 2 or len(wins) > 1:
            for snt in parts:
                w = next((w for w in wins if snt in w), None)
                if w is None:
                    alone.append(snt)                  # across a window boundary: no span to pool
                    continue
                a = w.find(snt)
                spans.setdefault(w, [])
                if (a, a + len(snt)) not in spans[w]:
                    spans[w].append((a, a + len(snt)))
                cand.append((i, w, spans[w].index((a, a + len(snt))), snt))
        extra.append(alone)
    vectors: dict[str, np.ndarray] = {}
    pooled: dict[str, np.ndarray] = {}
    if spans:
        texts = list(spans)
        vecs, pv = encoder.encode_with_spans(texts, [spans[t] for t in texts])  # type: ignore[attr-defined]
        for t, v, sv in zip(texts, vecs, pv):
            vectors[t], pooled[t] = v, sv
    batch = _batch(encoder, convs, focus_chunks, contexts, targets, vectors)
    picked: list[int] = []
    if cand:
        d = encoder.dim
        first_row = np.full(len(convs), -1)
        first_row[batch.owner[::-1]] = np.arange(len(batch.owner))[::-1]
        feats = np.zeros((len(cand), feature_dim(d)), np.float32)
        for r, (i, w, k, _) in enumerate(cand):
            feats[r] = batch.features[first_row[i]]            # context, target, has-context
            feats[r, :d] = pooled[w][k]
        sent_batch = EncodedBatch([convs[i] for i, _, _, _ in cand], feats, np.arange(len(cand)),
                                  [snt for _, _, _, snt in cand], np.ones(len(cand), np.int64))
        picked = sorted(set(triage(sent_batch)))
    for r in picked:
        extra[cand[r][0]].append(cand[r][3])
    if not any(extra):
        return batch
    focus_chunks = [ch + list(dict.fromkeys(x)) for ch, x in zip(focus_chunks, extra)]
    return _batch(encoder, convs, focus_chunks, contexts, targets, vectors)


def _batch(encoder: Encoder, convs: list[Conversation], focus_chunks: list[list[str]], contexts: list[str],
           targets: list[str], vectors: dict[str, np.ndarray]) -> EncodedBatch:
    feats, owner = build_features(encoder, focus_chunks, contexts, targets, vectors)
    return EncodedBatch(convs, feats, owner, [t for ch in focus_chunks for t in ch],
                        np.array([len(c) for c in focus_chunks]))
