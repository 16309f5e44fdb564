"""CycleGAN speed on this machine only: training s/step and translate images/s at 64 px / 6 blocks and
128 px / 9 blocks, batch 1, in float32 and in the policy ``--precision auto`` picks here; FLOPs per step
and achieved GFLOP/s against a peak measured in the same run (matmul and convolution microbenchmarks in
each dtype: a virtual machine reports only its nominal clock); float32 with XLA on and with Grappler on
beside the defaults; and the wall time from ``img2img train`` to the end of its first step (a fresh process,
as a user runs it).

Figures are never divided by another machine's: peers (PyTorch, keras-io) measured side by side on named
machines are in reference.md ("Compute figures") and docs/benchmarks.md.

    python -m bench.speed.cyclegan_speed --steps 10 --out bench/results
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.harness import REPO, cpu_description, per_call, timed

CONFIGS = [(64, 6), (128, 9)]


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


def measure(size: int, blocks: int, jit: bool, grappler: bool, steps: int, policy: str = "float32") -> dict:
    import tensorflow as tf

    from img2img.devices import policy_scope, set_graph_optimizer

    set_graph_optimizer("true" if grappler else "false")
    with policy_scope(policy):
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


def peak_gflops(dtype: str) -> float:
    """The best GFLOP/s of dense matmuls (2048^2, 4096^2) and 3x3 convolutions (256 and 512 channels) in
    ``dtype``, each warmed up and timed over 10 calls: what this machine's TensorFlow reaches on dense work,
    the yardstick for a training step."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    kernels = []
    for n in (2048, 4096):
        a = tf.constant(rng.standard_normal((n, n)), dtype=dtype)
        kernels.append((tf.function(lambda a=a: tf.matmul(a, a)), 2 * n ** 3))
    for batch, side, width in ((1, 128, 256), (1, 64, 512)):
        x = tf.constant(rng.standard_normal((batch, side, side, width)), dtype=dtype)
        k = tf.constant(rng.standard_normal((3, 3, width, width)), dtype=dtype)
        kernels.append((tf.function(lambda x=x, k=k: tf.nn.conv2d(x, k, 1, "SAME")),
                        2 * batch * side * side * width * width * 9))
    best = 0.0
    for fn, flops in kernels:
        for _ in range(3):
            np.asarray(fn())
        best = max(best, flops / per_call(lambda i, fn=fn: fn(), 10, np.asarray) / 1e9)
    return best


def time_to_first_step(size: int, blocks: int, jit: bool, grappler: bool, data: tuple[Path, Path],
                       precision: str) -> float:
    """Wall seconds from launching ``img2img train`` until it reports its first step done."""
    from bench.speed.startup_cli import first_step_seconds

    with tempfile.TemporaryDirectory() as tmp:
        return first_step_seconds(data, Path(tmp) / "run", size=size, precision=precision, settings=(
            f"blocks={blocks}", f"jit_compile={'true' if jit else 'false'}",
            f"grappler={'true' if grappler else 'false'}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from bench.data import emoji_code_points, emoji_folders
    from img2img.devices import choose_policy

    auto = choose_policy("auto")
    peaks = {"float32": peak_gflops("float32")}
    if auto != "float32":  # the peak of the dtype the auto rows compute in, only
        peaks[auto] = peak_gflops(auto.removeprefix("mixed_"))
    print("measured peak GFLOP/s: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()), flush=True)
    # (precision, XLA, Grappler): the defaults in both precisions first, then float32's other two settings.
    variants = [("float32", False, False), ("auto", False, False), ("float32", True, False), ("float32", False, True)]
    if auto == "float32":
        variants.remove(("auto", False, False))  # auto is float32 here: the first row already measures it
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = emoji_folders(Path(tmp), emoji_code_points()[:40], size=128)
        for size, blocks in CONFIGS:
            for precision, jit, grappler in variants:
                policy = auto if precision == "auto" else "float32"
                f = measure(size, blocks, jit, grappler, args.steps, policy)
                f["start"] = time_to_first_step(size, blocks, jit, grappler, data, precision)
                f["peak"] = f["gflops_per_s"] / peaks.get(policy, peaks["float32"])
                rows.append((size, blocks, f"{precision} ({policy})", jit, grappler, f))
                print(f"{size} px, {blocks} blocks, {policy}, XLA {on(jit)}, Grappler {on(grappler)}: "
                      f"{f['step']:.3f} s/step, {f['images_per_s']:.1f} images/s, {f['gflops_per_s']:.1f} GFLOP/s "
                      f"({f['peak']:.0%} of peak), first step {f['first']:.1f} s, img2img train to end of first "
                      f"step {f['start']:.1f} s", flush=True)
    lines = ["| size | blocks | precision | XLA | Grappler | s/step | vs float32 | translate images/s | GFLOP/step "
             "| GFLOP/s | of measured peak | first step traced + run (s) | train start to first step (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for size, blocks, precision, jit, grappler, f in rows:
        base = next(r[5]["step"] for r in rows if r[:2] == (size, blocks))  # this size's float32 default row
        lines.append(f"| {size} | {blocks} | {precision} | {on(jit)} | {on(grappler)} | {f['step']:.3f} "
                     f"| {base / f['step']:.2f}x | {f['images_per_s']:.1f} | {f['flops'] / 1e9:.1f} "
                     f"| {f['gflops_per_s']:.1f} | {f['peak']:.0%} | {f['first']:.1f} | {f['start']:.1f} |")
    write_table(args.out / "cyclegan_speed.md", lines,
                f"CycleGAN speed, batch 1, filters 64 (reference sizes), on {cpu_description()}, "
                f"{time.strftime('%Y-%m-%d')}.\n`python -m bench.speed.cyclegan_speed --steps {args.steps}`. "
                "Every ratio is between rows of this run; measured peak GFLOP/s: "
                + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
                + ". The default on a CPU is XLA off, Grappler off, --precision auto.")


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
