"""The CycleGAN with its fused instance norm against the same networks with Keras' GroupNormalization(-1).

Builds both variants in this one process, alternating, ``--repeats`` times each, and prints medians of:
graph ops and seconds to trace the training step (as fit does: no autograph), its first run, a later
training step (median of ``--steps``), and one generator forward pass (batch 1, as ``translate`` runs it);
then the fused / Keras ratio of each. The measuring is ``startup_optimizer.py``'s.

    python -m bench.speed.instance_norm_ab --size 64 --blocks 6 --repeats 3
    python -m bench.speed.instance_norm_ab --size 128 --blocks 9 --repeats 3
"""

from __future__ import annotations

import os

from bench.harness import cpu_description
from bench.speed.startup_optimizer import COLUMNS, arguments, compare, measure, print_comparison

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from img2img.devices import set_graph_optimizer
    from img2img.keras_import import import_keras

    keras = import_keras()
    set_graph_optimizer("auto")
    import img2img_plugins.cyclegan.networks as networks

    norms = {
        "Keras GroupNormalization(-1)": lambda: keras.layers.GroupNormalization(
            groups=-1, center=False, scale=False, epsilon=1e-5),
        "fused InstanceNormalization": networks.instance_norm,
    }

    def built_with(make):
        def run():
            networks.instance_norm = make  # the generator and discriminators look it up when built
            return measure(args.size, args.blocks, steps=args.steps)
        return run

    median = compare({name: built_with(make) for name, make in norms.items()}, args.repeats)
    print_comparison(f"CycleGAN {args.size} px, {args.blocks} blocks, batch 1; medians of {args.repeats} "
                     "alternating builds", "instance norm", median,
                     {**COLUMNS, "forward_ms": ("generator forward (ms)", "{:.1f}")})


if __name__ == "__main__":
    main()
