"""Mode-collapse benchmark: every loss (and gp, r1, consensus on the standard GAN) on toy:ring8 / toy:grid25.

For each configuration and seed, trains the toy-mlp model, draws 2,500 samples and reports modes
covered and the share of high-quality samples (within 3 sigma of a mode), as in the VEEGAN and PacGAN
papers' tables; writes a markdown table and a PNG of scatter plots (seed 0) to --out.

    python -m bench.quality.mode_collapse --data ring8 --steps 3000 --seeds 0 1 2 --out bench/results
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.harness import cpu_description, timed_value

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SAMPLES = 2500


def configurations(plugins) -> list[tuple[str, str, list[str]]]:
    """(label, loss spec, penalties): every registered loss, then the penalties on the standard GAN."""
    rows = [(name, name, []) for name in plugins.losses.names()]
    rows += [(f"gan + {p}", "gan", [p]) for p in ("gp", "r1", "consensus")]
    return rows


def run_one(plugins, data: str, loss: str, penalties: list[str], seed: int, steps: int, batch: int, out: Path):
    from img2img.runs import load_generator
    from img2img.training.trainer import Trainer, TrainRequest

    request = TrainRequest(model="toy-mlp", data=f"toy:{data}", loss=loss, penalties=penalties, steps=steps,
                           steps_per_epoch=steps, batch_size=batch, seed=seed, out=out, verbose=0)
    def train_and_sample() -> np.ndarray:
        result = Trainer(request, plugins, lambda message: None).run()
        generator = load_generator(result.run)
        z = np.random.default_rng(10_000 + seed).standard_normal((SAMPLES, 16)).astype(np.float32)
        return np.asarray(generator(z, training=False))

    return timed_value(train_and_sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["ring8", "grid25"], default="ring8")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="*", help="labels to run (default: all)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from PIL import Image

    from img2img.data.images import save_png
    from img2img.errors import Img2ImgError
    from img2img.plugins import get_plugins
    from img2img.render import scatter_plot
    from img2img_plugins.toy.distributions import extent_of, mixture_for

    plugins = get_plugins()
    mixture = mixture_for(args.data)
    extent = extent_of(mixture.modes)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = [f"| loss | modes (of {len(mixture.modes)}) | high-quality % | failed seeds | s/run |",
             "|---|---|---|---|---|"]
    plots = []
    for label, loss, penalties in configurations(plugins):
        if args.only and label not in args.only:
            continue
        modes, quality, seconds, failed = [], [], [], 0
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    samples, took = run_one(plugins, args.data, loss, penalties, seed, args.steps, args.batch_size,
                                            Path(tmp) / "run")
                except Img2ImgError as exc:  # diverged: counts as a failure, reported in the table
                    print(f"{label} seed {seed}: {exc}", file=sys.stderr)
                    failed += 1
                    continue
            score = mixture.coverage(samples)
            modes.append(score["modes"])
            quality.append(score["high_quality"])
            seconds.append(took)
            if seed == args.seeds[0]:
                plots.append((label, scatter_plot(samples, extent, size=200, references=mixture.modes)))
            print(f"{label} seed {seed}: {score} in {took:.1f} s", flush=True)

        def fmt(values, digits):
            if not values:
                return "-"
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"

        lines.append(f"| {label} | {fmt(modes, 1)} | {fmt(quality, 1)} | {failed} | "
                     f"{statistics.mean(seconds) if seconds else float('nan'):.0f} |")
    table = "\n".join(lines)
    (args.out / f"mode_collapse_{args.data}.md").write_text(
        f"toy:{args.data}, toy-mlp, {args.steps} steps of batch {args.batch_size}, seeds {args.seeds}, "
        f"{SAMPLES} samples; mean ± sd over seeds\n\n{table}\n")
    print(table)
    if plots:
        columns = 6
        rows = (len(plots) + columns - 1) // columns
        sheet = Image.new("RGB", (columns * 204, rows * 224), "white")
        from PIL import ImageDraw

        draw = ImageDraw.Draw(sheet)
        for i, (label, plot) in enumerate(plots):
            x, y = (i % columns) * 204, (i // columns) * 224
            sheet.paste(Image.fromarray(plot), (x + 2, y + 20))
            draw.text((x + 6, y + 4), label, fill=(0, 0, 0))
        save_png(np.asarray(sheet), args.out / f"mode_collapse_{args.data}.png")


if __name__ == "__main__":
    main()
