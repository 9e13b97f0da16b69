"""Scale-out: batch scoring of large corpora (``routeguard score``) and a Ray Serve application.

- :func:`score` judges a JSONL/Parquet corpus into resumable shards, in this process
  (``engine="local"``) or on a Ray cluster with Ray Data (``engine="ray"``, needs the ``ray`` extra);
  both engines give identical verdicts.
- :mod:`routeguard.scale.serve_ray` serves the HTTP API with the router and each expert as separate,
  independently scaled Ray Serve deployments.
"""
from .records import ModelSpec, read_rows
from .score import ENGINES, ScoreReport, compare_outputs, score

__all__ = ["ENGINES", "ModelSpec", "ScoreReport", "compare_outputs", "read_rows", "score"]
