"""Peak memory of streaming a folder through the training pipeline, for folders of N and 10 N images.

The pipeline decodes lazily (tf.data over file paths), so peak memory should barely move when the folder
grows tenfold. Each size runs in a fresh process; the figure is the peak resident set size (VmHWM).

    python bench/data_memory.py [--images 2000] [--size 64]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CHILD = """
import sys, time
from img2img.data import DataRequest, load_source
from img2img.plugins import get_plugins
folder, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = load_source(folder, DataRequest(image_size=size, channels=3, repeat=False), get_plugins().datasets)
start, seen = time.perf_counter(), 0
for batch in data.dataset.batch(64):
    seen += int(batch.shape[0])
assert seen == count, (seen, count)
rate = seen / (time.perf_counter() - start)
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(peak, rate)
"""


def make_folder(root: Path, count: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / f"{i:06d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (args.images, args.images * 10):
            folder = make_folder(Path(tmp) / str(count), count, args.size)
            out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(args.size), str(count)],
                                 capture_output=True, text=True, check=True)
            peak_kb, rate = out.stdout.split()
            rows.append((count, int(peak_kb) / 1024, float(rate)))
    print_peak_table("images", rows)


def print_peak_table(counted: str, rows: list[tuple[int, float, float]]) -> None:
    """Rows of (count, peak MiB, images/s) for N and 10 N inputs, and the ratio of the peaks that the
    flat-memory claims are judged by."""
    print(f"| {counted} | peak RSS (MiB) | images/s |\n|---|---|---|")
    for count, peak, rate in rows:
        print(f"| {count} | {peak:.0f} | {rate:.1f} |")
    print(f"peak memory ratio for {rows[1][0] // rows[0][0]}x the {counted}: {rows[1][1] / rows[0][1]:.3f}")


if __name__ == "__main__":
    main()
