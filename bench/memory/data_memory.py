"""Peak memory of streaming a folder through the training pipeline, for folders of N and 10 N images.

The folders hold real photo crops of mixed sizes (scikit-learn's sample photos). The pipeline decodes lazily
(tf.data over file paths), so peak memory should barely move when the folder grows tenfold. Each size runs
in a fresh process; the figure is the peak resident set size (VmHWM).

    python -m bench.memory.data_memory [--images 2000] [--size 64]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.data import photo_crops_folder
from bench.harness import cpu_description, print_peak_table

CHILD = """
import sys, time
from img2img.data import DataRequest, load_source
from img2img.plugins import get_plugins
folder, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = load_source(folder, DataRequest(image_size=size, channels=3, repeat=False), get_plugins().datasets)
start, seen = time.perf_counter(), 0
for batch in data.dataset.batch(64):  # sub-folders read as classes: (images, labels)
    seen += int((batch[0] if isinstance(batch, tuple) else batch).shape[0])
assert seen == count, (seen, count)
rate = seen / (time.perf_counter() - start)
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(peak, rate)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (args.images, args.images * 10):
            folder = photo_crops_folder(Path(tmp) / str(count), count)
            out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(args.size), str(count)],
                                 capture_output=True, text=True, check=True)
            peak_kb, rate = out.stdout.split()
            rows.append((count, int(peak_kb) / 1024, float(rate)))
    print_peak_table("images", rows)


if __name__ == "__main__":
    main()
