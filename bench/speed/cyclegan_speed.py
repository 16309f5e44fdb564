"""CycleGAN speed: training s/step and translate images/s at 64 and 128 px (6 and 9 blocks), FLOPs per
step, achieved GFLOP/s, with XLA (jit_compile) off and on and TensorFlow's graph optimiser (Grappler) on
and off; and the wall time from ``img2img train`` to the end of its first step (a separate process, as a
user runs it).

Reference figures from this 2-core machine kind are in reference.md ("Compute figures"): PyTorch CycleGAN
1.29 / 4.04 / 5.44 s per step and keras-io 1.40 / 5.20 / 6.38 s per step (64/6, 128/6, 128/9; batch 1).

    python -m bench.speed.cyclegan_speed --steps 10 --out bench/results
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.harness import REPO, cpu_description, per_call, timed

CONFIGS = [(64, 6), (128, 6), (128, 9)]
PEERS = {(64, 6): (1.29, 1.40), (128, 6): (4.04, 5.20), (128, 9): (5.44, 6.38)}  # PyTorch, keras-io (s/step)


def step_flops(model, a, b) -> float:
    """FLOPs of one training step, counted by TensorFlow's profiler on the traced graph (conv, matmul and
    their gradients; element-wise ops are not counted)."""
    import tensorflow as tf

    concrete = tf.function(model.train_step, autograph=False).get_concrete_function((a, b))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=concrete.graph, options=options)
    return float(profile.total_float_ops)


def cyclegan_and_batches(size: int, blocks: int, optimizer_cls=None, jit: bool = False) -> tuple:
    """A compiled CycleGAN as ``img2img train`` builds it (FusedAdam unless told otherwise, optimisers
    built so the first call does not trace twice) and four seeded (A, B) batches of one image."""
    import keras
    import tensorflow as tf

    from img2img.optimizers import FusedAdam
    from img2img.plugins import get_plugins

    optimizer_cls = optimizer_cls or FusedAdam
    plugins = get_plugins()
    keras.utils.set_random_seed(0)
    model = plugins.models.get("cyclegan")(image_size=size, channels=3, blocks=blocks)
    model.compile(optimizer_cls(2e-4, beta_1=0.5), optimizer_cls(2e-4, beta_1=0.5),
                  loss=plugins.losses.get("lsgan"), jit_compile=jit)
    model.build_optimizers()
    rng = np.random.default_rng(0)
    batches = [(tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)),
                tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32))) for _ in range(4)]
    return model, batches


def measure(size: int, blocks: int, jit: bool, grappler: bool, steps: int) -> dict[str, float]:
    import tensorflow as tf

    from img2img.devices import set_graph_optimizer

    set_graph_optimizer("true" if grappler else "false")
    model, batches = cyclegan_and_batches(size, blocks, jit=jit)
    flops = step_flops(model, *batches[0])
    # as Keras' fit wraps it: no autograph conversion (train steps have no tensor-dependent Python control flow)
    train = tf.function(model.train_step, jit_compile=jit, reduce_retracing=True, autograph=False)
    first = timed(lambda: train(batches[0]))
    train(batches[1])  # a second warm-up: some kernels pick their algorithm on the first real call
    per_step = per_call(lambda i: train(batches[i % 4]), steps, lambda out: float(out["g_loss"]))

    generate = tf.function(lambda x: model.generator(x, training=False), jit_compile=jit)
    images = batches[0][0]
    generate(images)
    per_image = per_call(lambda i: generate(images), max(steps, 10), np.asarray)
    return {"first": first, "step": per_step, "images_per_s": 1.0 / per_image, "flops": flops,
            "gflops_per_s": flops / per_step / 1e9}


def time_to_first_step(size: int, blocks: int, jit: bool, grappler: bool, data: tuple[Path, Path]) -> float:
    """Wall seconds from launching ``img2img train`` until it reports its first step done."""
    from startup_cli import first_step_seconds

    with tempfile.TemporaryDirectory() as tmp:
        return first_step_seconds(data, Path(tmp) / "run", size=size, settings=(
            f"blocks={blocks}", f"jit_compile={'true' if jit else 'false'}",
            f"grappler={'true' if grappler else 'false'}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from bench.data import emoji_code_points, emoji_folders

    rows = []
    variants = [(False, True), (False, False), (True, False)]  # (XLA, Grappler)
    with tempfile.TemporaryDirectory() as tmp:
        data = emoji_folders(Path(tmp), emoji_code_points()[:40], size=128)
        for size, blocks in CONFIGS:
            for jit, grappler in variants:
                figures = measure(size, blocks, jit, grappler, args.steps)
                figures["start"] = time_to_first_step(size, blocks, jit, grappler, data)
                rows.append((size, blocks, jit, grappler, figures))
                print(f"{size} px, {blocks} blocks, XLA {on(jit)}, Grappler {on(grappler)}: {figures['step']:.3f} "
                      f"s/step, {figures['images_per_s']:.1f} images/s, {figures['flops'] / 1e9:.1f} GFLOP/step, "
                      f"{figures['gflops_per_s']:.1f} GFLOP/s, first step traced+run {figures['first']:.1f} s, "
                      f"img2img train to end of first step {figures['start']:.1f} s", flush=True)
    lines = ["| size | blocks | XLA | Grappler | s/step | vs PyTorch | vs keras-io | translate images/s | GFLOP/step "
             "| GFLOP/s | first step traced + run (s) | train start to first step (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for size, blocks, jit, grappler, f in rows:
        torch, kerasio = PEERS[(size, blocks)]
        lines.append(f"| {size} | {blocks} | {on(jit)} | {on(grappler)} | {f['step']:.2f} | {torch / f['step']:.2f}x "
                     f"| {kerasio / f['step']:.2f}x | {f['images_per_s']:.1f} | {f['flops'] / 1e9:.1f} "
                     f"| {f['gflops_per_s']:.1f} | {f['first']:.1f} | {f['start']:.1f} |")
    write_table(args.out / "cyclegan_speed.md", lines,
                "CycleGAN speed, batch 1, float32, filters 64 (reference sizes), this machine's CPU.\n"
                f"`python -m bench.speed.cyclegan_speed --steps {args.steps}`; 'vs' columns are peer s/step divided by "
                "ours (reference.md). The default on a CPU is XLA off, Grappler off.")


def write_table(path: Path, lines: list[str], header: str) -> None:
    """Print a markdown table and save it under its header (how it was measured)."""
    table = "\n".join(lines)
    print(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n\n" + table + "\n")


def on(flag: bool) -> str:
    return "on" if flag else "off"


if __name__ == "__main__":
    main()
