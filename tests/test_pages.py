"""Result pages (img2img/pages.py): a run's index.html and translate --html's, opened in a real headless
browser (Chromium from Debian, installed by install.sh), every image loaded, names escaped, nothing fetched
from the network, and the pages still whole when their folder is copied elsewhere."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def open_in_browser(page: Path, screenshot: Path) -> str:
    """The page's DOM after it loaded (its own script has counted the images that loaded and those that did
    not), and a screenshot of it at ``screenshot`` (a temporary folder, never the checkout)."""
    assert CHROMIUM, "chromium is missing: run 'bash install.sh' (it installs the Debian package chromium)"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
              f"--user-data-dir={screenshot.parent / 'chromium-profile'}"]
    subprocess.run([*common, "--window-size=1200,1600", f"--screenshot={screenshot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    return dom


def image_counts(dom: str) -> tuple[int, int]:
    match = re.search(r'<html[^>]*data-images="(\d+)"[^>]*data-broken="(\d+)"', dom)
    assert match, dom[:500]
    return int(match.group(1)), int(match.group(2))


@pytest.fixture
def page_run(pix2pix_run):
    return pix2pix_run


def test_a_run_page_shows_every_epoch_and_the_losses_and_travels_with_its_folder(page_run, tmp_path):
    page = page_run / "index.html"
    text = page.read_text()
    assert text.count("<svg") >= 3 and "l1_loss" in text and "d_loss" in text  # a plot per logged loss
    assert all(f"epoch {e}" in text for e in (1, 2, 3))
    assert "http://" not in text and "https://" not in text and "default-src 'none'" in text
    copied = shutil.copytree(page_run, tmp_path / "copied-run")  # relative links: the copy works on its own
    images, broken = image_counts(open_in_browser(copied / "index.html", tmp_path / "shots" / "run.png"))
    assert images == 3 and broken == 0


def test_translate_html_puts_each_input_beside_its_output_with_names_escaped(cli_run, page_run, emoji, tmp_path):
    line, _ = emoji
    inputs = tmp_path / "inputs"
    (inputs / "sub dir").mkdir(parents=True)
    names = sorted(line.glob("*.png"))[:3]
    shutil.copy(names[0], inputs / "<img src=x onerror=alert(1)>.png")
    shutil.copy(names[1], inputs / "sub dir" / "a&b #1.png")
    Image.fromarray(np.zeros((20, 37, 3), np.uint8)).save(inputs / "wide.jpg")
    out = tmp_path / "out"
    result = cli_run("translate", inputs, "--model", page_run, "--out", out, "--html")
    assert "index.html" in result.output
    text = (out / "index.html").read_text()
    assert "<img src=x onerror" not in text and "&lt;img src=x onerror=alert(1)&gt;.png" in text
    assert "a&amp;b #1.png" in text
    copied = shutil.copytree(out, tmp_path / "copied-out")  # inputs are copied in as thumbnails: it travels
    dom = open_in_browser(copied / "index.html", tmp_path / "shots" / "translate.png")
    assert image_counts(dom) == (6, 0)  # three inputs and three outputs, every one loaded
    assert "onerror=alert(1)&gt;" in dom  # shown as text in the page, never made an element

    # A page whose image is gone says so on the page, and the count sees it.
    (copied / "wide.png").unlink()
    assert image_counts(open_in_browser(copied / "index.html", tmp_path / "shots" / "broken.png")) == (6, 1)


def test_translate_html_never_replaces_an_existing_page_without_overwrite(cli_run, page_run, emoji, tmp_path):
    line, _ = emoji
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("mine")
    result = cli_run("translate", sorted(line.glob("*.png"))[0], "--model", page_run, "--out", out, "--html",
                     expect=1)
    assert "already exist" in result.output and (out / "index.html").read_text() == "mine"
