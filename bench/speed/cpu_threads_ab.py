"""TensorFlow's own CPU thread pools against the cores split between two ops at a time (``--set
cpu_threads=split``), per model, batch and precision: the evidence for which models ``cpu_threads=auto``
splits for.

Each measurement is one fresh process (TensorFlow fixes its pools when its runtime starts) that builds the
model as ``img2img train`` does, takes two warm-up steps and times ``--steps`` more; the two settings
alternate ``--repeats`` times per case, so both see the same machine load, and the table gives the medians
and their ratio.

    python -m bench.speed.cpu_threads_ab --repeats 3 --out bench/results/cpu_threads_ab.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.harness import REPO, child_result, cpu_description, per_call, print_result, write_result

# (model, image size, batch, precision): CycleGAN at the reference batch of 1; DCGAN at its usual batch and at
# a small one; pix2pix at the reference batch of 1.
CASES = [("cyclegan", 64, 1, "float32"), ("cyclegan", 64, 1, "auto"), ("cyclegan", 128, 1, "float32"),
         ("cyclegan", 128, 1, "auto"), ("dcgan", 64, 64, "float32"), ("dcgan", 64, 64, "auto"),
         ("dcgan", 64, 4, "float32"), ("pix2pix", 256, 1, "float32")]
SETTINGS = ("tensorflow", "split")


def step_seconds(model_name: str, size: int, batch: int, precision: str, threads: str, steps: int) -> float:
    """Seconds per training step of a freshly built model in this process (called in a child)."""
    import numpy as np

    from img2img.devices import choose_policy, policy_scope, set_cpu_threads, set_graph_optimizer
    from img2img.plugins import get_plugins

    plugins = get_plugins()
    model_cls = plugins.models.get(model_name)
    set_cpu_threads(threads, model_cls.concurrent_branches)
    import keras
    import tensorflow as tf

    from img2img.optimizers import FusedAdam

    set_graph_optimizer("auto")
    keras.utils.set_random_seed(0)
    with policy_scope(choose_policy(precision)):
        model = model_cls(image_size=size, channels=3)
        model.compile(FusedAdam(2e-4, beta_1=0.5), FusedAdam(2e-4, beta_1=0.5),
                      loss=plugins.losses.get(model.default_loss))
        model.build_optimizers()
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32))
    data = (images, images) if model_cls.domains > 1 or model_cls.paired else images
    train = tf.function(model.train_step, reduce_retracing=True, autograph=False)
    train(data)
    train(data)
    return per_call(lambda i: train(data), steps, lambda out: float(out["g_loss"]))


def in_child(case: tuple, threads: str, steps: int) -> float:
    task = json.dumps({"case": case, "threads": threads, "steps": steps})
    return child_result([sys.executable, "-m", "bench.speed.cpu_threads_ab", "--child", task],
                        f"{case} with {threads} threads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--only", nargs="+", help="cases as MODEL/SIZE/BATCH/PRECISION")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cpu_threads_ab.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task = json.loads(args.child)
        print_result(step_seconds(*task["case"], task["threads"], task["steps"]))
        return
    print(f"CPU: {cpu_description()}", flush=True)
    cases = [tuple(int(x) if x.isdigit() else x for x in c.split("/")) for c in args.only] if args.only else CASES
    lines = [f"CPU threads A/B on {cpu_description()}, {time.strftime('%Y-%m-%d')}: `python -m "
             f"bench.speed.cpu_threads_ab --repeats {args.repeats} --steps {args.steps}`. Seconds per training "
             "step, medians of alternating fresh processes; split = two ops at a time with half the cores each. "
             "auto splits for the models marked so (concurrent_branches).", "",
             "| model | size | batch | precision | tensorflow's pools (s/step) | split (s/step) | split speed-up "
             "| runs (tensorflow; split) |", "|---|---|---|---|---|---|---|---|"]
    for case in cases:
        seconds: dict[str, list[float]] = {s: [] for s in SETTINGS}
        for _ in range(args.repeats):
            for threads in SETTINGS:
                seconds[threads].append(in_child(case, threads, args.steps))
                print(f"{case} {threads}: {seconds[threads][-1]:.3f} s/step", flush=True)
        ours, theirs = (statistics.median(seconds[s]) for s in ("split", "tensorflow"))
        runs = "; ".join(", ".join(f"{v:.3f}" for v in seconds[s]) for s in SETTINGS)
        lines.append(f"| {case[0]} | {case[1]} | {case[2]} | {case[3]} | {theirs:.3f} | {ours:.3f} "
                     f"| {theirs / ours:.2f}x | {runs} |")
    print("\n".join(lines))
    write_result(args.out, lines)


if __name__ == "__main__":
    main()
