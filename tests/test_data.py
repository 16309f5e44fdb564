"""Data sources: folders through Pillow (every format and mode), tfds, streaming, unreadable files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from img2img.data import DataRequest, load_source
from img2img.data.images import load_image
from img2img.errors import Img2ImgError


def _take(data, n):
    return list(data.dataset.take(n).as_numpy_iterator())


def test_folder_is_recursive_with_labels_from_subfolders(plugins, digits):
    data = load_source(str(digits), DataRequest(image_size=16, shuffle=False, repeat=False), plugins.datasets)
    assert data.count == 300 and data.channels == 1
    assert data.class_names == sorted(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                       "nine"])
    items = _take(data, 300)
    assert len(items) == 300
    image, label = items[0]
    assert image.shape == (16, 16, 1) and image.dtype == np.float32
    assert -1.0 <= image.min() < image.max() <= 1.0
    # Sorted file order without shuffling: the first file is eight/digit-....png
    first = sorted((digits / data.class_names[label]).glob("*.png"))[0]
    expected = load_image(first, 1, 16).astype(np.float32) / 127.5 - 1.0
    np.testing.assert_allclose(image, expected, atol=1e-6)


def test_every_format_is_read(plugins, tmp_path):
    rgb = (np.arange(32 * 32 * 3).reshape(32, 32, 3) % 251).astype(np.uint8)
    for ext in ["png", "jpg", "bmp", "gif", "webp", "tiff"]:
        Image.fromarray(rgb).save(tmp_path / f"img.{ext}")
    data = load_source(str(tmp_path), DataRequest(image_size=16, channels=3, shuffle=False, repeat=False),
                       plugins.datasets)
    assert data.count == 6 and data.class_names is None
    images = _take(data, 10)
    assert len(images) == 6 and all(im.shape == (16, 16, 3) for im in images)


def test_modes_are_converted_to_the_models_channels(tmp_path):
    # 16-bit grey: full scale must stay full scale, not clip to white.
    ramp16 = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(ramp16).save(tmp_path / "grey16.png")
    grey = load_image(tmp_path / "grey16.png", 1)
    assert grey.shape == (64, 64, 1)
    assert grey[0, 0, 0] == 0 and grey[-1, -1, 0] == 255 and 120 < grey[32, 0, 0] < 136

    # RGBA: transparent pixels come out white, opaque ones keep their colour.
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[:4] = (255, 0, 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    out = load_image(tmp_path / "alpha.png", 3)
    assert tuple(out[0, 0]) == (255, 0, 0) and tuple(out[7, 7]) == (255, 255, 255)

    # Palette image to RGB keeps the palette colours; to grey gives luminance.
    pal = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    pal.putpalette([0, 0, 255] + [0, 255, 0] + [0, 0, 0] * 254)
    pal.save(tmp_path / "pal.png")
    out = load_image(tmp_path / "pal.png", 3)
    assert tuple(out[0, 0]) == (0, 0, 255) and tuple(out[0, 1]) == (0, 255, 0)
    assert load_image(tmp_path / "pal.png", 1).shape == (2, 2, 1)

    # Grey to RGB repeats the grey value.
    Image.fromarray(np.full((4, 4), 77, np.uint8)).save(tmp_path / "g.png")
    assert (load_image(tmp_path / "g.png", 3) == 77).all()


def test_exif_orientation_is_applied(tmp_path):
    # A 20x10 (w x h) picture, left half black, tagged "rotate 90 CW to display" (orientation 6).
    arr = np.full((10, 20, 3), 255, np.uint8)
    arr[:, :10] = 0
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(arr).save(tmp_path / "rot.jpg", exif=exif, quality=100)
    out = load_image(tmp_path / "rot.jpg", 3)
    assert out.shape == (20, 10, 3)  # displayed upright: portrait
    assert out[:8].mean() < 30 and out[-8:].mean() > 225  # the black half is now on top


def test_unreadable_files_are_skipped_and_named(plugins, digits, tmp_path, capsys):
    data_dir = tmp_path / "mixed"
    data_dir.mkdir()
    for src in sorted(digits.rglob("*.png"))[:5]:
        (data_dir / src.name).write_bytes(src.read_bytes())
    (data_dir / "garbage.png").write_bytes(b"\x89PNG not really")
    # Valid header, truncated body: passes the scan, fails at decode time in the pipeline.
    good = (data_dir / sorted(p.name for p in data_dir.glob("digit-*"))[0]).read_bytes()
    (data_dir / "truncated.png").write_bytes(good[: len(good) // 2])
    data = load_source(str(data_dir), DataRequest(image_size=16, shuffle=False, repeat=False), plugins.datasets)
    images = _take(data, 100)
    err = capsys.readouterr().err
    assert "garbage.png" in err and "truncated.png" in err
    assert len(images) == 5


def test_stream_decodes_lazily(plugins, digits, monkeypatch):
    """Taking a few batches must not decode the whole folder: memory does not grow with its size."""
    import img2img.data.folder as folder

    calls = []
    real = folder.load_image

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(folder, "load_image", counting)
    data = load_source(str(digits), DataRequest(image_size=16, seed=3), plugins.datasets)
    batches = data.dataset.batch(4).take(2)
    assert sum(1 for _ in batches) == 2
    assert len(calls) < 150, f"decoded {len(calls)} of 300 files to produce 8 images"


def test_seeded_stream_skips_to_the_same_position(plugins, digits):
    """Resume relies on this: skip(k) on the seeded, repeated stream gives what an unbroken run saw next."""
    full = load_source(str(digits), DataRequest(image_size=16, seed=7), plugins.datasets)
    later = load_source(str(digits), DataRequest(image_size=16, seed=7, skip=310), plugins.datasets)
    expected = [x for x, _ in full.dataset.skip(310).take(5).as_numpy_iterator()]
    got = [x for x, _ in later.dataset.take(5).as_numpy_iterator()]
    np.testing.assert_array_equal(np.stack(expected), np.stack(got))


def test_tfds_source_reads_mock_data(plugins):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        data = load_source("tfds:mnist:train", DataRequest(image_size=16), plugins.datasets)
        items = _take(data, 12)
    assert data.count == 12 and data.channels == 1 and len(data.class_names) == 10
    image, label = items[0]
    assert image.shape == (16, 16, 1) and image.min() >= -1.0 and image.max() <= 1.0
    assert 0 <= int(label) < 10


def test_tfds_rgb_to_grey_and_unknown_dataset(plugins):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=4):
        data = load_source("tfds:cifar10", DataRequest(image_size=16, channels=1), plugins.datasets)
        assert _take(data, 1)[0][0].shape == (16, 16, 1)
    with pytest.raises(Img2ImgError, match="tfds:no_such_dataset_xyz"):
        load_source("tfds:no_such_dataset_xyz", DataRequest(image_size=16), plugins.datasets)


def test_folder_errors_name_the_folder(plugins, tmp_path):
    with pytest.raises(Img2ImgError, match=r"--data .*nowhere: no such folder"):
        load_source(str(tmp_path / "nowhere"), DataRequest(image_size=16), plugins.datasets)
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(Img2ImgError, match="is a file"):
        load_source(str(tmp_path / "file.png"), DataRequest(image_size=16), plugins.datasets)


def test_plugin_scheme_is_dispatched(plugins):
    from img2img import hookimpl
    from img2img.data import DataSource, ImageData

    class Const(DataSource):
        name = "const"

        def load(self, spec, request):
            import tensorflow as tf

            value = float(spec)
            ds = tf.data.Dataset.from_tensors(tf.fill((request.image_size,) * 2 + (1,), value)).repeat()
            return ImageData(ds, 10, 1, None, "constant")

    class P:
        @hookimpl
        def register_datasets(self, register):
            register(Const())

    plugins.register(P(), name="const-plugin")
    data = load_source("const:0.25", DataRequest(image_size=4), plugins.datasets)
    assert float(_take(data, 1)[0].mean()) == pytest.approx(0.25)


def test_a_train_val_test_layout_reads_train_only_and_never_as_classes(digits, tmp_path):
    """The reference data-set layout: its split folders are not classes, and test images are never read."""
    import shutil

    from img2img.data import DataRequest, load_source
    from img2img.plugins import get_plugins

    root = tmp_path / "set"
    files = sorted(digits.rglob("*.png"))
    for split, chosen in (("train", files[:30]), ("val", files[30:40]), ("test", files[40:60])):
        (root / split).mkdir(parents=True)
        for path in chosen:
            shutil.copy(path, root / split / path.name)
    data = load_source(str(root), DataRequest(image_size=8, repeat=False), get_plugins().datasets)
    assert data.count == 30 and data.class_names is None and "set/train" in data.description
    (root / "cats").mkdir()  # a folder that is not a split: the sub-folders are classes after all
    shutil.copy(files[0], root / "cats" / files[0].name)
    data = load_source(str(root), DataRequest(image_size=8, repeat=False), get_plugins().datasets)
    assert data.class_names == ["cats", "test", "train", "val"]


# ----- captions beside images ---------------------------------------------------------------------
def test_captions_come_from_txt_files_and_missing_ones_are_named(tmp_path, capsys):
    from img2img.data.captions import index_captions

    for name, text in [("a", "red apple\n\n  a shiny red apple \n"), ("b", "red apple\n"), ("c", None)]:
        Image.new("RGB", (4, 4)).save(tmp_path / f"{name}.png")
        if text is not None:
            (tmp_path / f"{name}.txt").write_text(text)
    index, kept = index_captions(sorted(tmp_path.glob("*.png")))
    assert kept == [0, 1]
    assert index.captions == ["red apple", "a shiny red apple"]  # distinct, stripped, blank lines dropped
    assert index.ids == [0, 1, 0] and index.starts == [0, 2] and index.counts == [2, 1]
    assert "c.png" in capsys.readouterr().err


def test_caption_draws_resume_where_they_stopped(tmp_path):
    """A stream that skips k elements (resume) draws the same captions as an unbroken one from element k."""
    from img2img.data import DataRequest
    from img2img.data.folder import FolderSource

    for i in range(6):
        Image.new("L", (4, 4), i * 40).save(tmp_path / f"{i}.png")
        (tmp_path / f"{i}.txt").write_text("\n".join(f"caption {i}.{k}" for k in range(4)))

    def ids(skip: int, n: int) -> list[int]:
        data = FolderSource().load(str(tmp_path), DataRequest(image_size=4, seed=3, skip=skip, captions=True))
        return [int(c) for _, c in data.dataset.take(n)]

    unbroken = ids(0, 30)
    assert ids(11, 19) == unbroken[11:]
    assert len(set(unbroken)) > 6  # more than one caption per image gets drawn
