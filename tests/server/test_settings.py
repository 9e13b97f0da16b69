"""Server settings: YAML and environment, unknown keys rejected."""
from __future__ import annotations

import pytest

from routeguard.errors import ConfigError
from routeguard.server import ServerSettings, load_settings


def test_defaults_are_safe():
    s = ServerSettings()
    assert s.host == "127.0.0.1" and s.cors_origins == [] and s.api_keys == []
    assert s.batching.enabled and s.batching.max_queue > 0 and s.upstream.base_url is None
    assert (s.min_threshold, s.max_threshold) == (0.05, 0.95)


def test_yaml_then_env_then_overrides(tmp_path):
    cfg = tmp_path / "server.yaml"
    cfg.write_text("port: 9001\napi_keys: [a]\nbatching:\n  max_batch_size: 8\n  max_wait_ms: 5\n"
                   "upstream:\n  base_url: http://127.0.0.1:9/v1/\n  api_key: sk-up\n")
    env = {"ROUTEGUARD_SERVER_BATCHING__MAX_BATCH_SIZE": "16", "ROUTEGUARD_SERVER_API_KEYS": "x,y",
           "ROUTEGUARD_DATA_ROOT": "/elsewhere"}          # other ROUTEGUARD_* variables are not ours
    s = load_settings(cfg, env=env, port=9002)
    assert s.port == 9002 and s.batching.max_batch_size == 16 and s.batching.max_wait_ms == 5
    assert s.api_key_values() == ["x", "y"]
    assert s.upstream.base_url == "http://127.0.0.1:9/v1" and s.upstream.api_key.get_secret_value() == "sk-up"
    assert "sk-up" not in repr(s)                          # secrets stay out of reprs and logs
    env2 = {"ROUTEGUARD_SERVER_CONFIG": str(cfg)}
    assert load_settings(env=env2).port == 9001


@pytest.mark.parametrize("yaml_text,needle", [
    ("prot: 1\n", "prot"),
    ("batching:\n  max_batch: 4\n", "batching.max_batch"),
    ("batching:\n  max_batch_size: 0\n", "max_batch_size"),
    ("min_threshold: 0.9\nmax_threshold: 0.1\n", "min_threshold"),
    ("upstream:\n  base_url: ftp://x\n", "base_url"),
    ("- a\n- b\n", "mapping"),
    ("port: [\n", "YAML"),
])
def test_bad_yaml_rejected(tmp_path, yaml_text, needle):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, env={})
    assert needle in str(e.value)


def test_unknown_env_key_rejected():
    with pytest.raises(ConfigError, match="batchin"):
        load_settings(env={"ROUTEGUARD_SERVER_BATCHIN__ENABLED": "false"})
    assert load_settings(env={"ROUTEGUARD_SERVER_BATCHING__ENABLED": "false"}).batching.enabled is False
    with pytest.raises(ConfigError):
        load_settings(env={}, config_file="x")       # unknown keyword override
