"""Benchmarks: synthetic concept-page corpora at 10k–1M facts, ingest, and latency vs naive baselines.

Run from a checkout: `python -m bench --facts 100000 [--json] [--queries N]`. See BENCHMARKS.md.
"""
