"""The CycleGAN with its fused instance norm against the same networks with Keras' GroupNormalization(-1).

Builds both variants in this one process, alternating, ``--repeats`` times each, and prints medians of:
graph ops and seconds to trace the training step (as fit does: no autograph), its first run, a later
training step (median of ``--steps``), and one generator forward pass (batch 1, as ``translate`` runs it);
then the fused / Keras ratio of each.

    python bench/instance_norm_ab.py --size 64 --blocks 6 --repeats 3
    python bench/instance_norm_ab.py --size 128 --blocks 9 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(size: int, blocks: int, steps: int) -> dict[str, float]:
    import numpy as np
    import tensorflow as tf
    from cyclegan_speed import cyclegan_and_batches

    model, batches = cyclegan_and_batches(size, blocks)
    step = tf.function(model.train_step, autograph=False)
    started = time.perf_counter()
    concrete = step.get_concrete_function(batches[0])
    traced = time.perf_counter() - started
    started = time.perf_counter()
    step(batches[0])
    first = time.perf_counter() - started
    step(batches[1])
    times = []
    for i in range(steps):
        started = time.perf_counter()
        float(step(batches[i % len(batches)])["g_loss"])
        times.append(time.perf_counter() - started)
    forward = tf.function(lambda x: model.generator(x, training=False))
    image = batches[0][0]
    np.asarray(forward(image))
    started = time.perf_counter()
    for _ in range(10):
        out = forward(image)
    np.asarray(out)
    return {"ops": len(concrete.graph.get_operations()), "trace": traced, "first": first,
            "step": statistics.median(times), "forward_ms": (time.perf_counter() - started) / 10 * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()

    from img2img.devices import set_graph_optimizer
    from img2img.keras_import import import_keras

    keras = import_keras()
    set_graph_optimizer("auto")
    import img2img_plugins.cyclegan.networks as networks

    variants = {
        "Keras GroupNormalization(-1)": lambda: keras.layers.GroupNormalization(
            groups=-1, center=False, scale=False, epsilon=1e-5),
        "fused InstanceNormalization": networks.instance_norm,
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, make in variants.items():
            networks.instance_norm = make  # the generator and discriminators look it up when built
            runs[name].append(measure(args.size, args.blocks, args.steps))
    median = {name: {key: statistics.median(r[key] for r in rows) for key in rows[0]} for name, rows in runs.items()}
    print(f"CycleGAN {args.size} px, {args.blocks} blocks, batch 1; medians of {args.repeats} alternating builds")
    print("| instance norm | graph ops | trace (s) | first run (s) | later step (s) | generator forward (ms) |\n"
          "|---|---|---|---|---|---|")
    for name, m in median.items():
        print(f"| {name} | {m['ops']:.0f} | {m['trace']:.2f} | {m['first']:.2f} | {m['step']:.3f} "
              f"| {m['forward_ms']:.1f} |")
    ours, base = (median[name] for name in reversed(variants))
    print("| ratio | " + " | ".join(f"{ours[k] / base[k]:.2f}" for k in ("ops", "trace", "first", "step", "forward_ms"))
          + " |")


if __name__ == "__main__":
    main()
