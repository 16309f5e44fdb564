"""Scores of every kept checkpoint of a CycleGAN quality run: is the run still improving, or at a plateau?

Train with ``--set keep_checkpoints=0`` so that every epoch's checkpoint stays, then score each one on the
held-out emoji exactly as ``cyclegan_quality.py`` scores the final model (L1, SSIM split by flat and
structured windows of the truth, KID against the held-out colour emoji), plus KID against the training
colour emoji, which uses no held-out truth and so could pick a checkpoint honestly.

    python bench/cyclegan_quality.py --line-art traced --steps 3000 --steps-per-epoch 150 --batch-size 4 \\
        --set upsampling=resize --set lambda_identity=0 --set keep_checkpoints=0 --work bench-work/traj
    python bench/cyclegan_checkpoint_scores.py bench-work/traj
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cyclegan_quality import feature_extractor, load_folder, run_translator, scores  # puts tests/ on the path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path, help="the --work folder of a cyclegan_quality.py run")
    parser.add_argument("--checkpoints", type=Path, help="folder of step-*.weights.h5 (default: the run's own)")
    args = parser.parse_args()

    from real_data import emoji_code_points, split_code_points

    from img2img.metrics import kernel_inception_distance

    held_out, _, train_b = split_code_points(emoji_code_points(), 0)
    line = load_folder(args.work / "test" / "line", held_out)
    truth = load_folder(args.work / "test" / "colour", held_out)
    model, _, translate = run_translator(args.work)
    name, features = feature_extractor()
    truth_features = features(truth)
    train_features = features(load_folder(args.work / "train" / "colour", train_b))
    folder = args.checkpoints or args.work / "run" / "checkpoints"
    print(f"KID features: {name}\n\n| step | mean L1 | SSIM | SSIM flat / structured | KID vs held-out colour "
          "| KID vs training colour |\n|---|---|---|---|---|---|")
    for checkpoint in sorted(folder.glob("step-*.weights.h5")):
        model.load_weights(checkpoint)
        translated = translate(line)
        s = scores(translated, truth, truth_features, features)
        kid_train = kernel_inception_distance(features(translated), train_features, subsets=100, subset_size=100)
        print(f"| {int(checkpoint.name[5:11])} | {s['l1']:.4f} | {s['ssim']:.4f} | {s['ssim_flat']:.3f} / "
              f"{s['ssim_structured']:.3f} | {s['kid']:.3f} ± {s['kid_std']:.3f} | {kid_train.mean:.3f} |", flush=True)


if __name__ == "__main__":
    main()
