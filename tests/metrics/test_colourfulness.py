"""Colourfulness against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lcad_bench.metrics import MetricBatch, get_metric
from lcad_bench.metrics.colourfulness import colourfulness


def test_uniform_colour_by_hand():
    img = np.zeros((4, 4, 3), np.uint8)
    img[...] = (200, 100, 50)  # rg = 100, yb = |150 - 50| = 100, no spread
    assert colourfulness(img)[0] == pytest.approx(0.3 * math.sqrt(100**2 + 100**2), abs=1e-12)


def test_two_pixel_image_by_hand():
    img = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)
    # rg = (255, 0): mean 127.5, sd 127.5; yb = (|127.5 - 0|, |0 - 255|) = (127.5, 255): mean 191.25, sd 63.75
    expected = math.sqrt(127.5**2 + 63.75**2) + 0.3 * math.sqrt(127.5**2 + 191.25**2)
    assert colourfulness(img)[0] == pytest.approx(expected, abs=1e-10)


def test_gray_is_zero_and_channel_order_matters():
    gray = np.full((1, 5, 5, 3), 77, np.uint8)
    assert colourfulness(gray)[0] == 0.0
    img = np.zeros((1, 3, 3, 3), np.uint8)
    img[...] = (200, 100, 50)
    bgr = img[..., ::-1]  # (50, 100, 200): rg = 50, yb = |75 - 200| = 125
    assert colourfulness(bgr)[0] == pytest.approx(0.3 * math.sqrt(50**2 + 125**2), abs=1e-12)
    assert abs(colourfulness(img)[0] - colourfulness(bgr)[0]) > 1.0


def test_metric_aggregates():
    a = np.zeros((2, 3, 3, 3), np.uint8)
    a[0] = (200, 100, 50)  # CF = 0.3 * sqrt(2) * 100
    a[1] = (60, 60, 60)  # CF = 0
    g = np.zeros_like(a)
    g[0] = (60, 60, 60)
    g[1] = (200, 100, 50)
    cf = 0.3 * math.sqrt(2) * 100
    m = get_metric("colourfulness")
    rows = m.update(MetricBatch(["x", "y"], a, g))
    assert rows[0]["cf_delta"] == pytest.approx(cf) and rows[1]["cf_delta"] == pytest.approx(-cf)
    assert rows[0]["cf_abs_delta"] == pytest.approx(cf)
    res = m.compute()
    assert res["cf_pred"] == pytest.approx(cf / 2) and res["cf_gt"] == pytest.approx(cf / 2)
    assert res["delta_cf"] == pytest.approx(0.0, abs=1e-12)  # |mean - mean|
    assert res["mean_abs_delta_cf"] == pytest.approx(cf)
    assert res["cf_bias"] == pytest.approx(0.0, abs=1e-12)
