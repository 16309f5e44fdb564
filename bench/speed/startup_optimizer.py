"""What the fused Adam update saves before a CycleGAN's first training step, against Keras' own Adam.

Both variants are built, traced and run in this one process, alternating, ``--repeats`` times each; the
report gives graph ops, the median seconds to trace the step (as fit does: optimisers built, no autograph),
to run it the first time, and per later step, and the FusedAdam / Adam ratio of each. The measuring and
the alternation are shared with ``instance_norm_ab.py``.

    python -m bench.speed.startup_optimizer --size 64 --blocks 6 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable

from bench.harness import cpu_description, per_call, timed, timed_value

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COLUMNS = {"ops": ("graph ops", "{:.0f}"), "trace": ("trace (s)", "{:.2f}"), "first": ("first run (s)", "{:.2f}"),
           "step": ("later step (s)", "{:.3f}")}


def measure(size: int, blocks: int, optimizer_cls=None, steps: int = 1) -> dict[str, float]:
    """Ops and seconds to trace the CycleGAN's training step, to run it first, per later step (median of
    ``steps``) and per generator forward pass (ms, batch 1, as translate runs it)."""
    import numpy as np
    import tensorflow as tf

    from bench.speed.cyclegan_speed import cyclegan_and_batches

    model, batches = cyclegan_and_batches(size, blocks, optimizer_cls)
    step = tf.function(model.train_step, autograph=False)
    concrete, traced = timed_value(lambda: step.get_concrete_function(batches[0]))
    first = timed(lambda: step(batches[0]))
    step(batches[1])
    times = [timed(lambda i=i: float(step(batches[(i + 2) % len(batches)])["g_loss"])) for i in range(steps)]
    forward = tf.function(lambda x: model.generator(x, training=False))
    np.asarray(forward(batches[0][0]))
    forward_s = per_call(lambda i: forward(batches[0][0]), 10, np.asarray)
    return {"ops": len(concrete.graph.get_operations()), "trace": traced, "first": first,
            "step": statistics.median(times), "forward_ms": forward_s * 1000}


def compare(variants: dict[str, Callable[[], dict[str, float]]], repeats: int) -> dict[str, dict[str, float]]:
    """Median of each figure per variant, the variants measured alternately so both see the same load."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            runs[name].append(run())
    return {name: {key: statistics.median(r[key] for r in rows) for key in rows[0]} for name, rows in runs.items()}


def print_comparison(title: str, label: str, median: dict[str, dict[str, float]],
                     columns: dict[str, tuple[str, str]]) -> None:
    """A markdown table of the medians, and the last variant / first variant ratio of each column."""
    print(title)
    print(f"| {label} | " + " | ".join(header for header, _ in columns.values()) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, m in median.items():
        print(f"| {name} | " + " | ".join(fmt.format(m[key]) for key, (_, fmt) in columns.items()) + " |")
    base, ours = (median[name] for name in (next(iter(median)), list(median)[-1]))
    print("| ratio | " + " | ".join(f"{ours[key] / base[key]:.2f}" for key in columns) + " |")


def arguments(doc: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    return parser


def main() -> None:
    args = arguments(__doc__).parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from img2img.devices import set_graph_optimizer
    from img2img.keras_import import import_keras
    from img2img.optimizers import FusedAdam

    keras = import_keras()
    set_graph_optimizer("auto")
    median = compare({name: lambda cls=cls: measure(args.size, args.blocks, cls)
                      for name, cls in (("Adam (Keras)", keras.optimizers.Adam), ("FusedAdam", FusedAdam))},
                     args.repeats)
    print_comparison(f"CycleGAN {args.size} px, {args.blocks} blocks, batch 1; medians of {args.repeats} "
                     "alternating runs", "optimizer", median, COLUMNS)


if __name__ == "__main__":
    main()
