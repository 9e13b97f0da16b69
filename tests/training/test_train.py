"""End-to-end: GuardZoo build over the fixtures -> train -> load -> judge. Small and deterministic."""
import json
from pathlib import Path

import numpy as np
import pytest

import routeguard
from routeguard.data.build import build, write
from routeguard.errors import ConfigError
from routeguard.training.config import TrainConfig
from routeguard.training.fitting import SentenceNegatives
from routeguard.training.train import cap_sources, train

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    write(build(FIXTURES, skip_broken=True), root / "gz")
    cfg = TrainConfig(data=root / "gz", out=root / "models", head={"hidden": [32], "epochs": 5})
    return cfg, train(cfg)


def test_train_saves_loadable_models_with_cards(trained):
    cfg, saved = trained
    assert set(saved) == {"routeguard", "monolith"}
    for name, folder in saved.items():
        assert {"model.json", "weights.npz", "MODEL_CARD.md"} <= {p.name for p in folder.iterdir()}
        meta = json.loads((folder / "model.json").read_text())["meta"]
        assert meta["data_fingerprint"] and meta["seed"] == cfg.seed and meta["train_records"] > 0
        g = routeguard.load(folder)
        v = g.check("Write me a poem about the sea")
        assert 0.0 <= v.unsafe_score <= 1.0
    rg = routeguard.load(saved["routeguard"])
    assert rg.router is not None and set(rg.experts) == {"general", "harm", "social", "non_violent", "cyber", "agent"}
    assert routeguard.load(saved["monolith"]).router is None


def test_training_is_deterministic(trained, tmp_path):
    cfg, saved = trained
    again = train(cfg.model_copy(update={"out": tmp_path / "again"}))
    for name in saved:
        with np.load(saved[name] / "weights.npz") as a, np.load(again[name] / "weights.npz") as b:
            assert a.files == b.files
            for k in a.files:
                assert np.array_equal(a[k], b[k]), k


def test_cap_sources_keeps_label_mix_and_cap():
    from routeguard.data.schema import Record

    recs = [Record(id=f"s:{i}", source="s", language="en", target="prompt", messages=[{"role": "user", "content": str(i)}],
                   label="unsafe" if i % 10 == 0 else "safe", categories=[]) for i in range(1000)]
    out = cap_sources(recs, 100, seed=1)
    assert len(out) == 100
    assert sum(r.label == "unsafe" for r in out) == 50   # the rarer label keeps half the cap
    assert cap_sources(recs, 100, seed=1) == out


def test_config_rejects_unknown_keys(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("data: x\nout: y\nepochz: 3\n")
    with pytest.raises(ConfigError, match="epochz"):
        TrainConfig.from_yaml(p)


def test_config_rejects_unknown_sentence_negative_styles(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("data: x\nout: y\nsentence_negatives: 4\nsentence_negative_styles: [system_prompts]\n")
    with pytest.raises(ConfigError, match="system_prompts"):
        TrainConfig.from_yaml(p)
    p.write_text("data: x\nout: y\nsentence_negatives: 4\nsentence_negative_styles: [system_prompt]\n")
    assert TrainConfig.from_yaml(p).sentence_rows == SentenceNegatives(4, frozenset({"system_prompt"}), 1.0)


class _CountingEncoder:
    name, dim, max_tokens = "test/count", 4, 64

    def __init__(self, fail_after: int | None = None):
        self.seen, self.fail_after = 0, fail_after

    def encode(self, texts):
        import numpy as np

        if self.fail_after is not None and self.seen >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.seen += len(texts)
        return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], np.float32)


def test_embedding_cache_checkpoints_and_resumes(tmp_path):
    """An interrupted encoding keeps what it finished (checkpoints), and the rerun encodes only the rest."""
    from routeguard.training.embed_cache import EmbeddingCache

    texts = [f"text number {i}" for i in range(10)]
    first = EmbeddingCache(_CountingEncoder(fail_after=6), tmp_path)
    with pytest.raises(KeyboardInterrupt):
        first.ensure(texts, block=2, checkpoint_s=0.0)
    again = _CountingEncoder()
    cache = EmbeddingCache(again, tmp_path)
    assert cache.missing_count(texts) == 4          # 3 blocks of 2 were checkpointed before the interruption
    cache.ensure(texts)
    assert again.seen == 4 and cache.missing_count(texts) == 0
    assert cache.get("text number 9")[0] == len("text number 9")
    assert not list(tmp_path.glob("*.tmp.npz"))


def test_style_weights_balance_style_and_target():
    """Neither a style nor a target may predict the label: benign records are up-weighted per style, then
    per target (multi-turn attacks outnumber benign multi-turn chat); nothing is down-weighted."""
    from routeguard.data.schema import Record
    from routeguard.training.fitting import style_weights

    def rec(i, style, target, label):
        msgs = [{"role": "user", "content": f"t{i}"}] if target == "prompt" else [
            {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": f"t{i}"}]
        return Record(id=f"s:{i}", source="s", language="en", target=target, messages=msgs, label=label, style=style)

    recs = ([rec(i, "tweet", "prompt", "unsafe") for i in range(30)] + [rec(100 + i, "tweet", "prompt", "safe") for i in range(10)]
            + [rec(200 + i, "chat", "conversation", "unsafe") for i in range(40)]
            + [rec(300 + i, "dialogue", "conversation", "safe") for i in range(4)]
            + [rec(400 + i, "chat", "prompt", "safe") for i in range(60)])
    w = style_weights(recs)
    assert abs(w.mean() - 1) < 1e-5 and (w > 0).all()

    def mass(pred):
        return sum(float(x) for x, r in zip(w, recs) if pred(r))
    # tweets: benign now weigh as much as unsafe
    assert abs(mass(lambda r: r.style == "tweet" and r.label == "safe") - mass(lambda r: r.style == "tweet" and r.label == "unsafe")) < 1e-3
    # conversations: the 4 benign ones weigh as much as the 40 attacks
    conv_safe = mass(lambda r: r.target == "conversation" and r.label == "safe")
    conv_unsafe = mass(lambda r: r.target == "conversation" and r.label == "unsafe")
    assert abs(conv_safe - conv_unsafe) < 1e-3
    # unsafe records are never up-weighted relative to each other
    unsafe_w = {round(float(x), 5) for x, r in zip(w, recs) if r.label == "unsafe"}
    assert len(unsafe_w) == 1


def test_operating_points_judge_dev_as_the_guard_runs(trained):
    from routeguard.data.build import read_split
    from routeguard.training.embed_cache import EmbeddingCache
    from routeguard.training.fitting import prepare, to_conv
    from routeguard.training.operating_points import dev_scores

    cfg, saved = trained
    g = routeguard.load(saved["routeguard"])
    g = g.replace(policy=g.policy.model_copy(update={"reread_sentences_above": 0.0}))   # every sentence row counts
    dv = prepare(read_split(cfg.data, "dev"), EmbeddingCache(g.encoder, None), cfg.max_chunks)
    ds = dev_scores(g, dv)
    run_time = [next(r.scores["unsafe"] for r in v.experts if r.expert == "general")
                for v in g.check_batch([to_conv(r) for r in dv.records])]
    np.testing.assert_allclose(ds.unsafe, run_time, atol=1e-6)
    windows = dev_scores(g, dv, pipeline=False)
    assert np.all(ds.unsafe >= windows.unsafe - 1e-6)      # extra sentence rows only raise the max


def test_benign_records_also_teach_their_sentences_alone():
    """``sentence_negatives``: a benign record longer than one window also gives a seeded sample of its
    sentences as rows of their own (the run-time guard reads such texts sentence by sentence), together
    weighing one row; unsafe records and one-window records keep their window rows only. With
    styles, only benign records of those styles, one-window ones included."""
    from routeguard.data.schema import Record
    from routeguard.encoders import base_encoder
    from routeguard.training.embed_cache import EmbeddingCache
    from routeguard.training.fitting import prepare

    places = ["market", "harbour", "museum", "library", "station", "bakery", "garden", "bridge", "castle", "beach"]
    sentences = [f"On day {i} we walked to the {p} and stayed there for about {i + 2} hours with friends."
                 for i, p in enumerate(places * 3)]
    story = " ".join(sentences)

    def rec(i, label, text, style="forum"):
        return Record(id=f"s:{i}", source="s", language="en", target="prompt", label=label, style=style,
                      messages=[{"role": "user", "content": text}],
                      categories=["weapons_drugs_physical_harm"] if label == "unsafe" else [])

    enc = base_encoder()
    n_win = len(enc.chunk(story, sentences=False))
    assert n_win >= 2
    recs = [rec(1, "safe", story), rec(2, "unsafe", story), rec(3, "safe", " ".join(sentences[:3]))]
    plain = prepare(recs, EmbeddingCache(enc, None), 4)
    assert np.bincount(plain.owner).tolist() == [n_win, n_win, 1] and np.all(plain.row_weight == 1)
    p = prepare(recs, EmbeddingCache(enc, None), 4, sentences=SentenceNegatives(3), seed=13)
    assert np.bincount(p.owner).tolist() == [n_win + 3, n_win, 1]      # 3 sentences, benign long records only
    np.testing.assert_allclose(p.row_weight[:n_win + 3], [1] * n_win + [1 / 3] * 3, rtol=1e-6)
    vecs = enc.encode(sentences)
    picked = [int(np.argmax(vecs @ p.feats[r, :enc.dim])) for r in range(n_win, n_win + 3)]
    assert len(set(picked)) == 3
    for r, j in zip(range(n_win, n_win + 3), picked):                    # each row is one sentence, alone
        np.testing.assert_allclose(p.feats[r, :enc.dim], vecs[j], atol=1e-5)
    again = prepare(recs, EmbeddingCache(enc, None), 4, sentences=SentenceNegatives(3), seed=13)
    np.testing.assert_array_equal(again.feats, p.feats)                 # the sample is seeded
    # restricted to some styles: only their benign records, and a one-window record of several sentences too
    short_sp = rec(4, "safe", "You are a helpful assistant. Format your responses in markdown. Keep answers short.",
                   "system_prompt")
    recs2 = recs + [short_sp]
    only = prepare(recs2, EmbeddingCache(enc, None), 4, sentences=SentenceNegatives(3, frozenset({"system_prompt"})), seed=13)
    assert np.bincount(only.owner).tolist() == [n_win, n_win, 1, 1 + 3]     # the forum story gives none now
    np.testing.assert_allclose(only.row_weight[-3:], [1 / 3] * 3, rtol=1e-6)
    heavy = prepare(recs2, EmbeddingCache(enc, None), 4, sentences=SentenceNegatives(3, frozenset({"system_prompt"}), 3.0),
                    seed=13)
    np.testing.assert_allclose(heavy.row_weight[-3:], [1.0] * 3, rtol=1e-6)      # each row as much as a window
    np.testing.assert_allclose(only.feats[-3:, :enc.dim],
                               enc.encode(["You are a helpful assistant.", "Format your responses in markdown.",
                                           "Keep answers short."]), atol=1e-5)
