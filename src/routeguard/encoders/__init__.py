"""Text encoders: turn text into fixed-size vectors. The default is MiniLM through onnxruntime."""
from .base import Encoder
from .onnx_minilm import (OnnxEncoder, base_encoder, default_encoder, encoder_name, folder_encoder, model_encoder,
                          new_sentences, sentence_spans, split_sentences)

__all__ = ["Encoder", "OnnxEncoder", "base_encoder", "default_encoder", "encoder_name", "folder_encoder",
           "model_encoder", "new_sentences", "sentence_spans", "split_sentences"]
