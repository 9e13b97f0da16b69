"""int8 ONNX encoders: dynamic per-channel quantisation (onnxruntime), for a fine-tuned export or a copy of
the packaged fp32 MiniLM. Needs ``onnx`` (train extra), never torch; the quantised model runs on plain
onnxruntime like the original."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..encoders.onnx_minilm import QUANTIZED_MARKER, _packaged_minilm
from ..errors import ConfigError


def quantize_int8(src: Path, dst: Path) -> Path:
    """Write the int8 (dynamic, per-channel weights) version of the ONNX model ``src`` to ``dst``."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ConfigError("quantizing an encoder needs onnx: pip install -e '.[train]'") from e
    dst.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
    return dst


def quantize_packaged(out: Path) -> Path:
    """An int8 copy of the packaged MiniLM in ``out`` (``onnx/model.onnx``, ``tokenizer.json`` and the
    marker that names it an int8 copy, not a fine-tune). Deterministic: the same file on every run."""
    src = _packaged_minilm()
    quantize_int8(src / "onnx" / "model.onnx", out / "onnx" / "model.onnx")
    shutil.copyfile(src / "tokenizer.json", out / "tokenizer.json")
    (out / QUANTIZED_MARKER).write_text(json.dumps({"base": "sentence-transformers/all-MiniLM-L6-v2 (packaged, fp32)",
                                                    "quantization": "onnxruntime quantize_dynamic QInt8 per-channel"}))
    return out
