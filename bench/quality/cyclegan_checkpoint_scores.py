"""Scores of every kept checkpoint of a CycleGAN quality run: is the run still improving, or at a plateau?

Train with ``--set keep_checkpoints=0`` so that every epoch's checkpoint stays, then score each one on the
held-out emoji exactly as ``cyclegan_quality.py`` scores the final model (L1, SSIM split by flat and
structured windows of the truth, KID against the held-out colour emoji), plus KID against the training
colour emoji, which uses no held-out truth and so could pick a checkpoint honestly. ``--average`` also scores
the generator whose weights are the mean of the newest K checkpoints' (stochastic weight averaging, Izmailov
et al. 2018): does averaging over the plateau's oscillation give a smoother, better translator?

    python -m bench.quality.cyclegan_quality --line-art traced --steps 3000 --steps-per-epoch 150 --batch-size 4 \\
        --set upsampling=resize --set lambda_identity=0 --set keep_checkpoints=0 --work bench-work/traj
    python -m bench.quality.cyclegan_checkpoint_scores bench-work/traj --average 3 5 10 20
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.data import load_emoji as load_folder
from bench.harness import cpu_description
from bench.quality.cyclegan_quality import feature_extractor, run_translator, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path, help="the --work folder of a cyclegan_quality.py run")
    parser.add_argument("--checkpoints", type=Path, help="folder of step-*.weights.h5 (default: the run's own)")
    parser.add_argument("--average", type=int, nargs="*", default=[], metavar="K",
                        help="also score the mean weights of the newest K checkpoints, for each K given")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)
    if any(k < 1 for k in args.average):
        parser.error("--average takes checkpoint counts of 1 or more")

    from bench.data import emoji_code_points, split_code_points
    from img2img.metrics import kernel_inception_distance

    held_out, _, train_b = split_code_points(emoji_code_points(), 0)
    line = load_folder(args.work / "test" / "line", held_out)
    truth = load_folder(args.work / "test" / "colour", held_out)
    model, generator, translate = run_translator(args.work)
    name, features = feature_extractor()
    truth_features = features(truth)
    train_features = features(load_folder(args.work / "train" / "colour", train_b))
    folder = args.checkpoints or args.work / "run" / "checkpoints"
    print(f"KID features: {name}\n\n| step | mean L1 | SSIM | SSIM flat / structured | KID vs held-out colour "
          "| KID vs training colour |\n|---|---|---|---|---|---|")

    def row(label: str) -> None:
        translated = translate(line)
        s = scores(translated, truth, truth_features, features)
        kid_train = kernel_inception_distance(features(translated), train_features, subsets=100, subset_size=100)
        print(f"| {label} | {s['l1']:.4f} | {s['ssim']:.4f} | {s['ssim_flat']:.3f} / {s['ssim_structured']:.3f} "
              f"| {s['kid']:.3f} ± {s['kid_std']:.3f} | {kid_train.mean:.3f} |", flush=True)

    checkpoints = sorted(folder.glob("step-*.weights.h5"))
    if not checkpoints:
        parser.error(f"no step-*.weights.h5 in {folder}")
    history = []
    from img2img.runs import RunDirectory

    for checkpoint in checkpoints:
        RunDirectory(args.work / "run").load_networks(model, checkpoint)  # older ones hold networks only
        history.append(generator.get_weights())
        row(str(int(checkpoint.name[5:11])))
    for k in args.average:
        newest = history[-k:]
        generator.set_weights([np.mean(weights, axis=0) for weights in zip(*newest, strict=True)])
        row(f"mean of the newest {len(newest)}")


if __name__ == "__main__":
    main()
