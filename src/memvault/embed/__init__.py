"""Embedders: the local default, a deterministic one for tests, and `make_embedder`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError
from .base import Embedder, normalise
from .hashing import HashEmbedder


def make_embedder(settings: Settings) -> Embedder:
    """`local` is all-MiniLM-L6-v2 on ONNX Runtime when it is installed (2-3x faster per
    query than torch on CPU, the same vectors), else through sentence-transformers;
    `torch` forces sentence-transformers, `onnx`/`onnx-int8` force ONNX Runtime."""
    kind = settings.embedder
    if kind == "torch" or (kind == "local" and importlib.util.find_spec("onnxruntime") is None):
        from .local import LocalEmbedder

        return LocalEmbedder(settings.embed_model, batch_size=settings.embed_batch)
    if kind in ("local", "onnx", "onnx-int8"):
        from .onnx import OnnxEmbedder

        base = settings.embed_model or "all-MiniLM-L6-v2"
        return OnnxEmbedder(settings.embed_model, batch_size=settings.embed_batch,
                            cache_dir=Path(settings.home) / "models" / Path(base).name,
                            threads=settings.embed_threads, int8=kind == "onnx-int8",
                            fallback=kind == "local")
    if kind == "hash":
        return HashEmbedder()
    raise ConfigError(f"unknown embedder {kind!r}; use 'local', 'torch', 'onnx', 'onnx-int8' "
                      "or 'hash'")


__all__ = ["Embedder", "HashEmbedder", "make_embedder", "normalise"]
