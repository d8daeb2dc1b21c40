"""Shared fixtures. Every test runs offline with an empty lcad-bench home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("LCAD_BENCH_HOME", str(tmp_path_factory.mktemp("lcad_home")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder of $LCAD_BENCH_SHARED_DATA; skips with the reason when unset."""
    root = os.environ.get("LCAD_BENCH_SHARED_DATA", "")
    if not root:
        pytest.skip(
            "LCAD_BENCH_SHARED_DATA is unset: set it to the shared/data folder (.ci/run does)"
        )
    path = Path(root)
    if not path.is_dir():
        pytest.skip(f"LCAD_BENCH_SHARED_DATA={root} is not a folder")
    return path


@pytest.fixture(scope="session")
def extractor():
    """One spaCy-backed extractor for the whole session."""
    from lcad_bench.text.extract import get_extractor

    return get_extractor()
