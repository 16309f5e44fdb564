"""How much disk a run directory takes: a 32 px CycleGAN at the reference widths, after a few epochs.

Trains ``img2img train cyclegan --image-size 32 --batch-size 1`` for ``--epochs`` epochs of one step each on
real emoji (so the default three checkpoints are kept) and prints the folder's size by part. ``--baseline
TREE`` runs another checkout of img2img the same way (``git worktree add /tmp/before COMMIT``), for a
before/after ratio measured on this machine in this run.

    python -m bench.memory.run_dir_size --epochs 5
    python -m bench.memory.run_dir_size --epochs 5 --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import compared_trees, cpu_description


def folder_sizes(run: Path) -> dict[str, int]:
    parts: dict[str, int] = {}
    for path in run.rglob("*"):
        if path.is_file():
            relative = path.relative_to(run)
            part = relative.parts[0] if len(relative.parts) > 1 else relative.name
            parts[part] = parts.get(part, 0) + path.stat().st_size
    return parts


def train(data: tuple[Path, Path], out: Path, epochs: int, python_path: str | None) -> None:
    env = dict(os.environ)
    if python_path:
        env["PYTHONPATH"] = python_path
    command = [sys.executable, "-m", "img2img", "train", "cyclegan", "--data", str(data[0]), "--data-b",
               str(data[1]), "--image-size", "32", "--batch-size", "1", "--steps", str(epochs),
               "--steps-per-epoch", "1", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out.parent)
    if result.returncode != 0:
        raise SystemExit(f"img2img train failed:\n{result.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another img2img checkout to compare with")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from bench.data import emoji_code_points, emoji_folders

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        data = emoji_folders(scratch, emoji_code_points()[:16], size=32)
        trees = compared_trees(args.baseline, scratch)
        sizes = {}
        for index, (name, python_path) in enumerate(trees.items()):
            out = scratch / f"run-{index}"
            train(data, out, args.epochs, python_path)
            sizes[name] = folder_sizes(out)
    parts = sorted({part for found in sizes.values() for part in found})
    print(f"CycleGAN 32 px, reference widths, {args.epochs} epochs of one step, default keep_checkpoints\n")
    print("| img2img | " + " | ".join(parts) + " | total (MB) |\n|---|" + "---|" * (len(parts) + 1))
    for name, found in sizes.items():
        cells = " | ".join(f"{found.get(part, 0) / 1e6:.1f}" for part in parts)
        print(f"| {name} | {cells} | {sum(found.values()) / 1e6:.1f} |")
    if args.baseline:
        ours, theirs = (sum(found.values()) for found in (sizes["this checkout"], sizes[next(iter(sizes))]))
        print(f"\ntotal this / baseline: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
