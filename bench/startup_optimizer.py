"""What the fused Adam update saves before a CycleGAN's first training step, against Keras' own Adam.

Both variants are built, traced and run in this one process, alternating, ``--repeats`` times each; the
report gives graph ops, the median seconds to trace the step (as fit does: optimisers built, no autograph),
to run it the first time, and per later step, and the FusedAdam / Adam ratio of each.

    python bench/startup_optimizer.py --size 64 --blocks 6 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(optimizer_cls, size: int, blocks: int) -> dict[str, float]:
    import tensorflow as tf
    from cyclegan_speed import cyclegan_and_batches

    model, batches = cyclegan_and_batches(size, blocks, optimizer_cls)
    step = tf.function(model.train_step, autograph=False)
    started = time.perf_counter()
    concrete = step.get_concrete_function(batches[0])
    traced = time.perf_counter() - started
    started = time.perf_counter()
    step(batches[0])
    first = time.perf_counter() - started
    step(batches[1])
    started = time.perf_counter()
    step(batches[2])
    later = time.perf_counter() - started
    return {"ops": len(concrete.graph.get_operations()), "trace": traced, "first": first, "step": later}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from img2img.devices import set_graph_optimizer
    from img2img.keras_import import import_keras
    from img2img.optimizers import FusedAdam

    keras = import_keras()
    set_graph_optimizer("auto")
    variants = {"Adam (Keras)": keras.optimizers.Adam, "FusedAdam": FusedAdam}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, cls in variants.items():
            runs[name].append(measure(cls, args.size, args.blocks))
    median = {name: {key: statistics.median(r[key] for r in rows) for key in rows[0]} for name, rows in runs.items()}
    print(f"CycleGAN {args.size} px, {args.blocks} blocks, batch 1; medians of {args.repeats} alternating runs")
    print("| optimizer | graph ops | trace (s) | first run (s) | later step (s) |\n|---|---|---|---|---|")
    for name, m in median.items():
        print(f"| {name} | {m['ops']:.0f} | {m['trace']:.2f} | {m['first']:.2f} | {m['step']:.2f} |")
    ours, base = median["FusedAdam"], median["Adam (Keras)"]
    print(f"| ratio | {ours['ops'] / base['ops']:.2f} | {ours['trace'] / base['trace']:.2f} "
          f"| {ours['first'] / base['first']:.2f} | {ours['step'] / base['step']:.2f} |")


if __name__ == "__main__":
    main()
