"""img2img translate: real photos at their own sizes, names and folders kept, odd file kinds read right,
nothing of the user's overwritten, unreadable files named, exit codes as documented."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """scikit-learn's two real photos (427x640) at native size, one in a sub-folder, plus an odd-sized crop."""
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    root = tmp_path_factory.mktemp("photos") / "holiday"
    (root / "day2").mkdir(parents=True)
    Image.fromarray(china).save(root / "china.jpg", quality=95)
    Image.fromarray(flower).save(root / "day2" / "flower.png")
    Image.fromarray(flower[100:201, 300:377]).save(root / "day2" / "crop.png")  # 77 x 101: not a multiple of 4
    return root


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_photos_keep_their_size_names_and_folders(cli_run, cyclegan_run, photos, tmp_path):
    out = tmp_path / "out"
    result = cli_run("translate", photos, "--model", cyclegan_run, "--out", out)
    assert "Translated 3 of 3" in result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["china.png", "day2/crop.png", "day2/flower.png"]
    for name, source in [("china.png", "china.jpg"), ("day2/flower.png", "day2/flower.png"),
                         ("day2/crop.png", "day2/crop.png")]:
        with Image.open(out / name) as translated, Image.open(photos / source) as original:
            assert translated.size == original.size and translated.mode == "RGB"
    assert not np.array_equal(_read(out / "day2/flower.png"), _read(photos / "day2/flower.png"))  # it did translate


def test_single_files_direction_and_size(cli_run, cyclegan_run, photos, tmp_path):
    out = tmp_path / "out"
    cli_run("translate", photos / "china.jpg", photos / "day2" / "crop.png", "--model", cyclegan_run,
            "--direction", "b2a", "--size", "64", "--out", out)
    with Image.open(out / "china.png") as image:
        assert image.size == (96, 64)  # 640x427 scaled so the shorter side is 64
    with Image.open(out / "crop.png") as image:
        assert image.size == (64, 84)
    a2b = tmp_path / "a2b"
    cli_run("translate", photos / "china.jpg", "--model", cyclegan_run, "--size", "64", "--out", a2b)
    assert not np.array_equal(_read(out / "china.png"), _read(a2b / "china.png"))  # the other generator
    result = cli_run("translate", photos, "--model", cyclegan_run, "--direction", "sideways", "--out",
                     tmp_path / "x", expect=1)
    assert "a2b, b2a" in result.output


def test_odd_file_kinds_read_like_their_plain_versions(cli_run, cyclegan_run, tmp_path):
    """Grey, 16-bit, palette, RGBA and EXIF-rotated files translate exactly as the plain RGB image they show."""
    from sklearn.datasets import load_sample_images

    rgb = load_sample_images().images[1][::8, ::8]  # 54 x 80, real photo
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    plain, odd = tmp_path / "plain", tmp_path / "odd"
    plain.mkdir()
    odd.mkdir()
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(plain / "grey.png")
    Image.fromarray(grey).save(odd / "grey.png")
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(plain / "deep.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(odd / "deep.png")  # 16-bit grey
    palette = Image.fromarray(rgb).quantize(64)
    palette.convert("RGB").save(plain / "palette.png")
    palette.save(odd / "palette.png")
    Image.fromarray(rgb).save(plain / "alpha.png")
    alpha = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    alpha[:10, :10, 3] = 0  # transparent corner: white, as on a page
    Image.fromarray(alpha, "RGBA").save(odd / "alpha.png")
    white_corner = rgb.copy()
    white_corner[:10, :10] = 255
    Image.fromarray(white_corner).save(plain / "alpha.png")
    Image.fromarray(rgb).save(plain / "rotated.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the viewer rotates 90 degrees clockwise to show it upright
    Image.fromarray(np.rot90(rgb, k=1).copy()).save(odd / "rotated.png", exif=exif)
    assert Image.open(odd / "deep.png").mode.startswith("I")
    assert Image.open(odd / "palette.png").mode == "P"

    cli_run("translate", plain, "--model", cyclegan_run, "--out", tmp_path / "from_plain")
    cli_run("translate", odd, "--model", cyclegan_run, "--out", tmp_path / "from_odd")
    for name in ["grey", "deep", "palette", "alpha", "rotated"]:
        expected = _read(tmp_path / "from_plain" / f"{name}.png")
        got = _read(tmp_path / "from_odd" / f"{name}.png")
        assert got.shape == expected.shape, name
        assert np.abs(got - expected).max() <= 1, name


def test_never_overwrites_or_writes_into_an_input_folder(cli_run, cyclegan_run, photos, tmp_path):
    out = tmp_path / "out"
    cli_run("translate", photos / "day2", "--model", cyclegan_run, "--out", out)
    before = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in out.iterdir()}
    result = cli_run("translate", photos / "day2", "--model", cyclegan_run, "--out", out, expect=1)
    assert "already exist" in result.output and "--overwrite" in result.output
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in out.iterdir()} == before
    cli_run("translate", photos / "day2", "--model", cyclegan_run, "--out", out, "--overwrite")

    inside = photos / "translated"
    result = cli_run("translate", photos, "--model", cyclegan_run, "--out", inside, expect=1)
    assert "never writes into an input folder" in result.output and not inside.exists()
    result = cli_run("translate", photos / "china.jpg", "--model", cyclegan_run, "--out", photos, expect=1)
    assert "input folder" in result.output


def test_unreadable_files_are_named_and_the_rest_converted(cli_run, cyclegan_run, photos, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.open(photos / "day2" / "crop.png").save(mixed / "good.png")
    (mixed / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    (mixed / "notes.txt").write_text("not an image, not counted")
    result = cli_run("translate", mixed, "--model", cyclegan_run, "--out", tmp_path / "out")
    assert "broken.jpg" in result.output and "Translated 1 of 2" in result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.png"]

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"garbage")
    result = cli_run("translate", bad, "--model", cyclegan_run, "--out", tmp_path / "none", expect=1)
    assert "a.png" in result.output and "nothing was written" in result.output
    assert not any((tmp_path / "none").rglob("*.png"))


def test_same_stems_need_format_same(cli_run, cyclegan_run, photos, tmp_path):
    both = tmp_path / "both"
    both.mkdir()
    Image.open(photos / "day2" / "crop.png").save(both / "x.png")
    Image.open(photos / "day2" / "crop.png").convert("RGB").save(both / "x.jpg")
    result = cli_run("translate", both, "--model", cyclegan_run, "--out", tmp_path / "o1", expect=1)
    assert "--format same" in result.output
    cli_run("translate", both, "--model", cyclegan_run, "--out", tmp_path / "o2", "--format", "same")
    assert sorted(p.name for p in (tmp_path / "o2").iterdir()) == ["x.jpg", "x.png"]
    with Image.open(tmp_path / "o2" / "x.jpg") as image:
        assert image.format == "JPEG"


def test_noise_models_cannot_translate(cli_run, digits, photos, tmp_path):
    from conftest import FAST

    run = tmp_path / "dcgan"
    cli_run("train", "dcgan", "--data", digits, *FAST, "--steps", "1", "--out", run)
    result = cli_run("translate", photos, "--model", run, "--out", tmp_path / "o", expect=1)
    assert "generates images from noise" in result.output
    result = cli_run("translate", photos, "--model", tmp_path / "nowhere", "--out", tmp_path / "o", expect=1)
    assert "no such run directory" in result.output
    (tmp_path / "empty").mkdir()
    result = cli_run("translate", photos, "--model", tmp_path / "empty", "--out", tmp_path / "o", expect=1)
    assert "not a run directory" in result.output


def test_padding_round_trip():
    from img2img.translate import pad_to_multiple

    pixels = np.arange(7 * 10 * 3, dtype=np.uint8).reshape(7, 10, 3)
    padded, (h, w) = pad_to_multiple(pixels, 4, 16)
    assert padded.shape == (16, 16, 3) and (h, w) == (7, 10)
    np.testing.assert_array_equal(padded[:h, :w], pixels)
    padded, _ = pad_to_multiple(np.zeros((20, 33, 1), np.uint8), 4, 16)
    assert padded.shape == (20, 36, 1)
