"""Peak memory and speed of ``img2img translate`` over N and 10 N files of mixed sizes.

Translate streams files through tf.data one at a time, so peak memory should barely move when the folder
grows tenfold. Each size runs in a fresh process (the CLI itself); the figure is its peak resident set
size (VmHWM), read from /proc just before it exits.

    python -m bench.memory.translate_memory --model RUN_DIR [--images 300] [--shapes 16]

Memory that grows with the number of *distinct sizes* (per-shape state somewhere below TensorFlow) is told
apart from growth with the number of files by running with --shapes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.data import photo_crops_folder
from bench.harness import PEAK_RSS_CHILD, cpu_description, peak_kb, print_peak_table

CHILD = PEAK_RSS_CHILD + """
from img2img.cli import main
sys.argv = ['img2img', *sys.argv[1:]]
main()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a run directory of an image-to-image model")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--shapes", type=int, default=0, help="distinct image sizes (0: every file its own)")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (args.images, args.images * 10):
            folder = photo_crops_folder(Path(tmp) / f"in{count}", count, args.shapes)
            result = subprocess.run([sys.executable, "-c", CHILD, "translate", str(folder), "--model",
                                     str(args.model), "--out", str(Path(tmp) / f"out{count}")],
                                    capture_output=True, text=True, check=True)
            peak = peak_kb(result.stderr) / 1024
            rate = float(result.stdout.rsplit("(", 1)[1].split()[0])
            written = sum(1 for _ in (Path(tmp) / f"out{count}").rglob("*.png"))
            assert written == count, (written, count)
            rows.append((count, peak, rate))
    print_peak_table("files", rows)


if __name__ == "__main__":
    main()
