"""The sentence model: pinned files, deterministic unit vectors, nothing written outside the project, cache reuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.facts import embedding
from bot.facts.ingest import build_database
from tests.conftest import DATA_DIR, ROOT


def test_vectors_are_unit_length_deterministic_and_ordered() -> None:
    texts = ["ketamine and the bladder", "", "music during a session", "ketamine and the bladder"]
    vectors = embedding.encoder().encode(texts)
    assert vectors.shape == (4, embedding.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[3], atol=1e-6)
    assert float(vectors[0] @ vectors[2]) < 0.5
    assert embedding.encoder().encode([]).shape == (0, embedding.DIMENSIONS)


def test_a_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(embedding.ModelError, match="does not match its pinned sha256"):
        embedding._checked(fake, embedding.MODEL_SHA256)
    with pytest.raises(embedding.ModelError, match="cannot be read"):
        embedding._checked(tmp_path / "missing.onnx", embedding.MODEL_SHA256)


def test_running_the_model_writes_nothing_to_the_home_folder(tmp_path: Path) -> None:
    """No telemetry store, cache or device id: the runtime is pinned below the releases that keep one."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    code = "from bot.facts.embedding import encoder; print(encoder().encode(['x']).shape)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "(1, 384)" in out.stdout, out.stderr
    assert out.stderr == ""
    assert list(home.rglob("*")) == []


def test_a_rebuild_embeds_only_what_changed(tmp_path: Path) -> None:
    db = tmp_path / "facts.sqlite3"
    first = build_database(DATA_DIR, db)
    total = first.total_facts  # the concept page's 285 and the imported sources'
    assert (first.embedded, first.embeddings_cached) == (total, 0)
    again = build_database(DATA_DIR, db)
    assert (again.embedded, again.embeddings_cached) == (0, total)
