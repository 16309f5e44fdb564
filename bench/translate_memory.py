"""Peak memory and speed of ``img2img translate`` over N and 10 N files of mixed sizes.

Translate streams files through tf.data one at a time, so peak memory should barely move when the folder
grows tenfold. Each size runs in a fresh process (the CLI itself); the figure is its peak resident set
size (VmHWM), read from /proc just before it exits.

    python bench/translate_memory.py --model RUN_DIR [--images 300] [--shapes 16]

Memory that grows with the number of *distinct sizes* (per-shape state somewhere below TensorFlow) is told
apart from growth with the number of files by running with --shapes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from data_memory import print_peak_table
from PIL import Image

CHILD = """
import sys, atexit
def peak():
    value = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
    print(f"PEAK_KB {value}", file=sys.stderr)
atexit.register(peak)
from img2img.cli import main
sys.argv = ['img2img', *sys.argv[1:]]
main()
"""


def make_folder(root: Path, count: int, shapes: int) -> Path:
    """Crops of scikit-learn's real photos, 48-160 px on each side, in a few sub-folders; with ``shapes``
    > 0 the sizes come from that many distinct (height, width) pairs, as in a folder from a few cameras."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    palette = [tuple(int(v) for v in rng.integers(48, 161, 2)) for _ in range(shapes)]
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = palette[int(rng.integers(len(palette)))] if palette else (int(v) for v in rng.integers(48, 161, 2))
        top, left = int(rng.integers(0, photo.shape[0] - h)), int(rng.integers(0, photo.shape[1] - w))
        folder = root / f"part{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo[top:top + h, left:left + w]).save(folder / f"{i:06d}.jpg", quality=90)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a run directory of an image-to-image model")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--shapes", type=int, default=0, help="distinct image sizes (0: every file its own)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (args.images, args.images * 10):
            folder = make_folder(Path(tmp) / f"in{count}", count, args.shapes)
            result = subprocess.run([sys.executable, "-c", CHILD, "translate", str(folder), "--model",
                                     str(args.model), "--out", str(Path(tmp) / f"out{count}")],
                                    capture_output=True, text=True, check=True)
            peak = int(result.stderr.rsplit("PEAK_KB", 1)[1].split()[0]) / 1024
            rate = float(result.stdout.rsplit("(", 1)[1].split()[0])
            written = sum(1 for _ in (Path(tmp) / f"out{count}").rglob("*.png"))
            assert written == count, (written, count)
            rows.append((count, peak, rate))
    print_peak_table("files", rows)


if __name__ == "__main__":
    main()
