"""The sentence model: pinned files, deterministic unit vectors, nothing written outside the project, cache reuse."""

from __future__ import annotations

import os
import sqlite3
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


def test_a_question_scores_facts_by_the_mean_of_both_models() -> None:
    """One dot product (plus the offset) is the mean of MiniLM's cosine and bge's on MiniLM's scale."""
    enc = embedding.encoder()
    facts = ["Ketamine abuse has been linked to serious urinary tract complications.", "Music shapes the experience."]
    question = "can ketamine damage your bladder"
    got = embedding.similarity(enc.encode(facts), enc.encode_query(question))
    minilm = enc.minilm.encode(facts) @ enc.minilm.encode([question])[0]
    bge = enc.bge.encode(facts) @ enc.bge.encode([embedding.BGE_QUERY_PREFIX + question])[0]
    assert np.allclose(got, (minilm + embedding.BGE_SCALE * bge + embedding.BGE_SHIFT) / 2, atol=1e-5)
    assert got[0] > 0.4 > 0.1 > got[1]


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
    assert out.returncode == 0 and "(1, 768)" in out.stdout, out.stderr
    assert out.stderr == ""
    assert list(home.rglob("*")) == []


def test_a_rebuild_embeds_only_what_changed(tmp_path: Path) -> None:
    db = tmp_path / "facts.sqlite3"
    first = build_database(DATA_DIR, db)
    total = first.total_facts  # the concept page's 285 and the imported sources'
    assert (first.embedded, first.embeddings_cached) == (total, 0)
    db.unlink()  # no previous database: the vectors come from the cache beside it
    again = build_database(DATA_DIR, db)
    assert (again.embedded, again.embeddings_cached) == (0, total)


def test_a_rebuild_takes_unchanged_facts_from_the_database_it_replaces(tmp_path: Path, data_copy: Path) -> None:
    db = tmp_path / "facts.sqlite3"
    first = build_database(data_copy, db)
    (tmp_path / "vectors.sqlite3").unlink()  # no cache: only the previous database has the vectors
    page = data_copy / "concepts" / "ketamine.txt"
    text = page.read_text(encoding="utf-8")
    old = "Ketamine treatment sessions in the Montreal model last approximately"
    assert text.count(old) == 1
    new = "Ketamine treatment sessions in the Montreal model last roughly"
    page.write_text(text.replace(old, new), encoding="utf-8")
    again = build_database(data_copy, db)
    assert (again.embedded, again.embeddings_cached) == (1, first.total_facts - 1)
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM fact_vectors").fetchone()[0]
        text_now, vector = conn.execute(
            "SELECT f.text, v.vector FROM facts f JOIN fact_vectors v ON v.rowid = f.rowid WHERE f.text LIKE ?",
            ("Ketamine treatment sessions in the Montreal model last roughly%",),
        ).fetchone()
    assert stored == first.total_facts
    fresh = embedding.encoder().encode([text_now])[0]  # the changed fact was embedded afresh
    assert np.allclose(np.frombuffer(vector, dtype=np.float32), fresh, atol=1e-6)
