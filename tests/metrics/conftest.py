"""Metric tests run with an empty torch hub cache, so no test sees or needs real weights."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _empty_torch_home(monkeypatch, tmp_path_factory):
    home = tmp_path_factory.mktemp("torch_home")
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home
