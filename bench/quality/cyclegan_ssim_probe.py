"""Where a finished quality run loses SSIM to the flat colour-mean baseline, and whether cheap fixes close it.

Reads a ``cyclegan_quality.py --work DIR`` folder (its run and its held-out test images) and prints, on the
held-out emoji: the translation's L1 / SSIM (flat and structured windows of the truth, as the quality
report splits them); the same after averaging the translations of the flipped inputs (test-time
augmentation); the generator with the weights of its kept checkpoints averaged; SSIM by kind of window
(flat white, flat coloured, structured), with its two factors, for the translation and the colour-mean
fill, and what each kind adds to the difference of their means; the translation's deviation from white
on the truth's background, by distance from the emoji's silhouette; how much of the line art's ink lies
on the truth's background; and reference rows that price each kind of error: the truth with the line
art's ink drawn over it, with its colour spread 1 px outwards, with one hue everywhere, and the translation
with only its ink pixels replaced by the truth.

    python -m bench.quality.cyclegan_ssim_probe bench-work/cyclegan-quality-traced
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

# cyclegan_quality puts tests/ on the path
from bench.data import load_emoji as load_folder
from bench.harness import cpu_description
from bench.quality.cyclegan_quality import FLAT_VARIANCE, pixel_scores, run_translator, ssim_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path, help="the --work folder of a finished cyclegan_quality.py run")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from scipy import ndimage

    from bench.data import emoji_code_points, split_code_points

    held_out, _, _ = split_code_points(emoji_code_points(), 0)
    line = load_folder(args.work / "test" / "line", held_out)
    truth = load_folder(args.work / "test" / "colour", held_out)
    model, generator, translate = run_translator(args.work)

    print("| generator | mean L1 | SSIM | SSIM flat / structured |\n|---|---|---|---|")
    checkpoints = sorted((args.work / "run" / "checkpoints").glob("step-*.weights.h5"),
                         key=lambda p: int(p.stem.split("-")[1].split(".")[0]))
    kept = []
    for checkpoint in checkpoints:
        model.load_weights(checkpoint)
        kept.append([w.copy() for w in generator.get_weights()])
        plain = translate(line)  # after the loop: the newest checkpoint's translation
        print_row(checkpoint.name, plain, truth)
    flipped = translate(line[:, :, ::-1])[:, :, ::-1]
    print_row("newest, averaged with its left-right flip", (plain + flipped) / 2, truth)
    print_row("newest, averaged over both flips", (plain + flipped + translate(line[:, ::-1])[:, ::-1]) / 3, truth)
    generator.set_weights([np.mean(ws, axis=0) for ws in zip(*kept, strict=True)])
    print_row(f"weights of the {len(kept)} kept checkpoints averaged", translate(line), truth)

    window_kinds(plain, truth)

    background = np.all(truth > 0.95, axis=-1)
    distance = np.stack([ndimage.distance_transform_edt(b) for b in background])  # px to the silhouette
    deviation = np.abs(1.0 - plain).mean(axis=-1)
    print(f"\nBackground (truth > 0.95 in every channel): {background.mean():.1%} of pixels; "
          "the newest checkpoint's mean |1 - pixel| there, by distance from the silhouette:")
    print("| distance (px) | share of pixels | mean deviation | 90th percentile |\n|---|---|---|---|")
    for low, high in ((0.5, 2), (2, 4), (4, 8), (8, 16), (16, 1e9)):
        mask = background & (distance >= low) & (distance < high)
        print(f"| {low:g}-{high:g} | {mask.mean():.3f} | {deviation[mask].mean():.3f} | "
              f"{np.percentile(deviation[mask], 90):.3f} |".replace("-1e+09", "+"))
    ink = line.mean(axis=-1) < 0.5
    ring = background & (distance < 2)
    print(f"\nInk of the line art (mean < 0.5): {ink.mean():.1%} of pixels, {(ink & background).sum() / ink.sum():.1%} "
          f"of it on the truth's background, where the translation deviates from white by "
          f"{deviation[ink & background].mean():.3f}; it covers {(ink & ring).sum() / ring.sum():.1%} of the "
          f"background within 2 px of the silhouette (deviation elsewhere in that ring "
          f"{deviation[ring & ~ink].mean():.3f}).")
    reference_rows(line, truth, plain)


def reference_rows(line: np.ndarray, truth: np.ndarray, translated: np.ndarray) -> None:
    """What SSIM charges for each kind of error, on the truth itself, against the constant fill's score: the
    colour emoji have no outlines, so keeping the line art's ink costs SSIM even with perfect colours, while
    wrong colours with the truth's edges and shading cost little."""
    import tensorflow as tf
    from scipy import ndimage

    darkness = line.mean(axis=-1, keepdims=True)  # 1 on paper, 0 on ink, grey on anti-aliased edges
    hsv = tf.image.rgb_to_hsv(truth).numpy()
    hsv[..., 0] = 0.13  # one yellow hue everywhere; saturation and value kept
    rows = {"the truth with the line art's ink drawn over it (multiplied)": truth * darkness,
            "the truth with its colour spread 1 px outwards (3x3 minimum)":
                np.stack([ndimage.grey_erosion(image, size=(3, 3, 1)) for image in truth]),
            "the truth with every hue set to one yellow": tf.image.hsv_to_rgb(hsv).numpy(),
            "the translation with its ink pixels (mean < 0.5) replaced by the truth":
                np.where(darkness < 0.5, truth, translated)}
    print("\n| reference | mean L1 | SSIM | SSIM flat / structured |\n|---|---|---|---|")
    for label, images in rows.items():
        print_row(label, images.astype(np.float32), truth)


def print_row(label: str, predicted: np.ndarray, truth: np.ndarray) -> None:
    r = pixel_scores(predicted, truth)
    print(f"| {label} | {r['l1']:.4f} | {r['ssim']:.4f} | {r['ssim_flat']:.3f} / {r['ssim_structured']:.3f} |")


def window_kinds(translated: np.ndarray, truth: np.ndarray) -> None:
    """Which windows of the truth the SSIM gap to the colour-mean fill comes from (here the held-out colour
    mean: within 0.001 SSIM of the training mean the quality report uses)."""
    fill = np.broadcast_to(truth.reshape(-1, 3).mean(axis=0), truth.shape).astype(np.float32)
    ours, theirs = ssim_map(translated, truth), ssim_map(fill, truth)
    flat = ours["truth_variance"] < FLAT_VARIANCE
    white = ours["truth_mean"] > 0.97
    kinds = {"flat white (mean > 0.97)": flat & white, "flat coloured": flat & ~white, "structured": ~flat}
    print("\nSSIM by kind of window of the truth (per window and channel):")
    print("| windows | share | translation SSIM (luminance x contrast-structure) | fill SSIM (same) "
          "| adds to fill - translation |\n|---|---|---|---|---|")
    for name, mask in kinds.items():
        a, b = ([m[key][mask].mean() for key in ("ssim", "luminance", "contrast_structure")] for m in (ours, theirs))
        print(f"| {name} | {mask.mean():.3f} | {a[0]:.3f} ({a[1]:.3f} x {a[2]:.3f}) | {b[0]:.3f} ({b[1]:.3f} x "
              f"{b[2]:.3f}) | {mask.mean() * (b[0] - a[0]):+.3f} |")


if __name__ == "__main__":
    main()
