"""`img2img divergence` against closed forms, toy distributions and their mode metrics, the toy model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import FAST, REPO
from scipy import integrate, stats

from img2img_plugins.toy.distributions import draw, grid_modes, mixture_for, ring_modes


def _js_row_value(mu: float) -> float:
    """D_f for reference.md's js row, f(u) = -(u+1) log((1+u)/2) + u log u: KL(P||M) + KL(Q||M) = 2 JS."""
    p, q = stats.norm(0, 1).pdf, stats.norm(mu, 1).pdf

    def m(x):
        return (p(x) + q(x)) / 2

    kl_pm = integrate.quad(lambda x: p(x) * np.log(p(x) / m(x)), -30, 30)[0]
    kl_qm = integrate.quad(lambda x: q(x) * np.log(q(x) / m(x)), -30, 30)[0]
    return kl_pm + kl_qm


@pytest.mark.slow
@pytest.mark.parametrize(("loss", "expected"), [("kl", 0.5), ("js", _js_row_value(1.0))])
def test_estimate_lands_within_5_percent_of_the_closed_form(cli_run, plugins, loss, expected):
    result = cli_run("divergence", "toy:gauss:mean=0,std=1", "toy:gauss:mean=1,std=1", "--loss", loss, "--json")
    estimate = json.loads(result.stdout)
    assert estimate["estimate"] == pytest.approx(expected, rel=0.05)
    assert 0 < estimate["half_width"] < 0.05 * expected
    assert estimate["held_out"] >= 20000


@pytest.mark.slow
def test_divergence_between_image_folders_and_errors(cli_run, plugins, digits, tmp_path):
    ones, sevens = digits / "one", digits / "seven"
    same = json.loads(cli_run("divergence", ones, ones, "--loss", "js", "--steps", "100", "--batch-size", "8",
                              "--image-size", "8", "--holdout", "0.4", "--json").stdout)
    apart = json.loads(cli_run("divergence", ones, sevens, "--loss", "js", "--steps", "100", "--batch-size", "8",
                               "--image-size", "8", "--holdout", "0.4", "--json").stdout)
    assert 8 <= same["held_out"] <= 16  # 40% of each class's ~30 images, never seen in training
    assert apart["estimate"] > same["estimate"] + same["half_width"]
    result = cli_run("divergence", ones, sevens, "--holdout", "0.01", "--steps", "1", "--batch-size", "4",
                     "--image-size", "8", expect=1)
    assert "leave none for the holdout part at --holdout 0.01" in result.output
    result = cli_run("divergence", "toy:gauss", "toy:gauss:mean=1", "--loss", "wgan", expect=1)
    assert "not an f-divergence" in result.output and "kl" in result.output
    result = cli_run("divergence", "toy:gauss", "toy:ring8", expect=1)
    assert "different kinds of samples" in result.output
    result = cli_run("divergence", "toy:gauss", "toy:gauss:std=-1", expect=1)
    assert "toy:gauss:std=-1: must be at least 0 (standard deviation)" in result.output


def test_mode_metrics_on_known_samples():
    ring = mixture_for("ring8")
    assert len(ring.modes) == 8 and np.allclose(np.linalg.norm(ring.modes, axis=1), 2.0)
    assert ring.std == 0.02
    perfect = ring.coverage(draw("ring8", 2500, seed=0))
    assert perfect["modes"] == 8 and perfect["high_quality"] > 99.0
    collapsed = np.repeat(ring.modes[:1], 2500, axis=0) + 0.01
    assert ring.coverage(collapsed) == {"modes": 1, "total_modes": 8, "high_quality": 100.0}
    assert ring.coverage(np.zeros((2500, 2)))["high_quality"] == 0.0
    grid = mixture_for("grid25")
    assert len(grid.modes) == 25 and grid.modes.min() == -4 and grid.modes.max() == 4
    assert grid.coverage(draw("grid25", 2500, seed=1))["modes"] == 25
    assert np.allclose(sorted(map(tuple, grid_modes())), sorted(map(tuple, grid.modes)))
    assert np.allclose(ring_modes()[0], [2, 0])


def test_published_settings_and_pacgan_scores_on_known_samples():
    """reference.md: ring of radius 1 with sigma 0.01, grid {-4..4}^2 with sigma 0.05; a mode is covered by a
    single high-quality sample; reverse KL of the mode histogram against the uniform one."""
    from img2img_plugins.toy.distributions import PUBLISHED

    ring = mixture_for(PUBLISHED["ring8"])
    assert np.allclose(np.linalg.norm(ring.modes, axis=1), 1.0) and ring.std == 0.01
    assert len({tuple(np.round(m, 6)) for m in ring.modes}) == 8  # not the linspace bug's 7 distinct modes
    grid = mixture_for(PUBLISHED["grid25"])
    assert grid.std == 0.05 and grid.modes.min() == -4 and grid.modes.max() == 4
    perfect = ring.pacgan_scores(draw(PUBLISHED["ring8"], 2500, seed=0))
    assert perfect["modes"] == 8 and perfect["high_quality"] > 99.0 and perfect["reverse_kl"] < 0.01
    lonely = np.concatenate([np.repeat(ring.modes[:1], 2499, axis=0), ring.modes[1:2]])  # one sample at mode 1
    scores = ring.pacgan_scores(lonely)
    assert scores["modes"] == 2 and ring.coverage(lonely)["modes"] == 1  # one sample covers, by PacGAN's rule
    p = np.array([2499, 1]) / 2500
    assert scores["reverse_kl"] == pytest.approx(float((p * np.log(p * 8)).sum()))
    assert ring.pacgan_scores(np.full((2500, 2), 5.0)) == {"modes": 0, "total_modes": 8, "high_quality": 0.0,
                                                           "reverse_kl": pytest.approx(np.log(8))}
    assert grid.pacgan_scores(draw(PUBLISHED["grid25"], 2500, seed=1))["modes"] == 25
    assert np.allclose(mixture_for("ring8").modes, ring_modes())  # the default ring is unchanged


def test_toy_model_trains_on_ring8_and_plots(cli_run, plugins, tmp_path):
    from PIL import Image

    out = tmp_path / "run"
    cli_run("train", "toy-mlp", "--data", "toy:ring8", "--steps", "20", "--batch-size", "64", "--out", out)
    config = json.loads((out / "config.json").read_text())
    assert config["sample_shape"] == [2] and config["channels"] == 0
    with Image.open(next((out / "samples").glob("epoch-*.png"))) as plot:
        assert plot.size == (320, 320)
    cli_run("generate", "--model", out, "--count", "7", "--out", tmp_path / "gen")
    samples = np.loadtxt(tmp_path / "gen" / "samples.csv", delimiter=",")
    assert samples.shape == (7, 2) and np.isfinite(samples).all()
    scored = json.loads(cli_run("modes", out, "--json").output)
    assert scored["data"] == "toy:ring8" and scored["samples"] == 2500
    assert 0 <= scored["published"]["modes"] <= 8 and scored["published"]["total_modes"] == 8
    assert scored["own_rule"]["modes"] <= scored["published"]["modes"]  # the published rule is the looser
    refused = cli_run("modes", tmp_path / "gen", expect=1)
    assert "not a run directory" in refused.output


def test_model_and_data_kinds_must_match(cli_run, plugins, digits, tmp_path):
    result = cli_run("train", "dcgan", "--data", "toy:ring8", *FAST, "--out", tmp_path / "a", expect=1)
    assert "gives vectors" in result.output and "trains on images" in result.output
    result = cli_run("train", "toy-mlp", "--data", digits, "--out", tmp_path / "b", expect=1)
    assert "gives images" in result.output
    result = cli_run("train", "toy-mlp", "--data", "toy:moons", "--out", tmp_path / "c", expect=1)
    assert "unknown toy distribution 'moons'" in result.output


@pytest.mark.slow
def test_divergence_on_two_replicas_estimates_what_one_device_does():
    """The critic's bound is divided among replicas like the GAN losses (img2img.distribute): on a split
    CPU, 300 steps give the estimate one device gives to 1e-5 (both near the closed form 0.5)."""
    env = {**os.environ, "IMG2IMG_CPU_DEVICES": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    results = {}
    for strategy in ("one", "mirrored"):
        out = subprocess.run([sys.executable, "-m", "img2img", "divergence", "toy:gauss:mean=0,std=1",
                              "toy:gauss:mean=1,std=1", "--loss", "kl", "--steps", "300", "--batch-size", "256",
                              "--strategy", strategy, "--json"], capture_output=True, text=True, timeout=600,
                             cwd=REPO, env=env)
        assert out.returncode == 0, out.stderr[-3000:]
        results[strategy] = json.loads(out.stdout[out.stdout.index("{"):])
    assert results["one"]["replicas"] == 1 and results["mirrored"]["replicas"] == 2
    assert abs(results["one"]["estimate"] - results["mirrored"]["estimate"]) < 1e-3, results
    assert abs(results["mirrored"]["estimate"] - 0.5) < 0.05, results


@pytest.mark.slow
def test_the_published_mode_benchmark_runs_every_row_and_resumes(monkeypatch, tmp_path):
    """Every row's settings are accepted (a typo would otherwise surface after an hour of other rows), each
    (row, seed) leaves its raw JSON, a second invocation trains nothing, and the table lists every row."""
    from bench.quality import mode_collapse_published as bench

    monkeypatch.setattr(bench, "SAMPLES", 200)
    argv = ["mode_collapse_published", "--data", "grid25", "--steps", "20", "--seeds", "0", "--work", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()
    raw = sorted((tmp_path / "raw" / "grid25-20-steps").glob("*.json"))
    assert len(raw) == len(bench.ROWS)
    stamps = [path.stat().st_mtime_ns for path in raw]
    bench.main()
    assert [path.stat().st_mtime_ns for path in raw] == stamps
    table = (tmp_path / "grid25-20-steps.md").read_text()
    for row in bench.ROWS:
        assert f"| {row.name} (batch {row.batch}) | 1 |" in table
    # Each raw file names its machine; a table of rows run on different machines names each row's.
    here = bench.cpu_description()
    assert f"Machine: {here}." in table and all(json.loads(p.read_text())["cpu"] == here for p in raw)
    moved = json.loads(raw[0].read_text())
    raw[0].write_text(json.dumps({**moved, "cpu": "another CPU"}))
    bench.main()
    table = (tmp_path / "grid25-20-steps.md").read_text()
    assert "Machine:" not in table and f"| {moved['row']} (batch {moved['batch']}) | 1 |" in table
    assert table.count(f"| {here} |") == len(bench.ROWS) - 1 and table.count("| another CPU |") == 1
