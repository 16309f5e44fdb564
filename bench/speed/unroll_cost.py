"""What Unrolled GAN costs per training step (issue 23): toy-mlp on the 8-Gaussian ring at the Unrolled GAN
authors' sizes (reference.md: batch 512, z 256, two 128-unit layers per player), the same compiled step
timed with ``--set unroll=K`` for each K (and each ``--unroll-optimizer``, the copy's update rule), side by
side in one process. Prints seconds per step and the ratio to K = 0.

    python -m bench.speed.unroll_cost --unroll 0 1 5 --steps 50
    python -m bench.speed.unroll_cost --unroll 0 5 --unroll-optimizer sgd adam
"""

from __future__ import annotations

import argparse

from bench.harness import command_of_caller, cpu_description, per_call


def seconds_per_step(unroll: int, steps: int, rule: str = "sgd") -> float:
    import keras
    import tensorflow as tf

    from img2img.plugins import get_plugins
    from img2img_plugins.toy.distributions import draw

    plugins = get_plugins()
    keras.utils.set_random_seed(0)
    model = plugins.models.get("toy-mlp")(image_size=1, channels=1, sample_shape=(2,), latent_dim=256, hidden=128,
                                          layers=2)
    model.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-3), loss=plugins.losses.get("gan"),
                  unroll=unroll, unroll_optimizer=rule)
    model.build_optimizers()
    batch = tf.constant(draw("ring8", 512, seed=0), tf.float32)
    step = tf.function(model.train_step)
    step(batch)  # trace and warm up outside the timing
    return per_call(lambda _: step(batch), steps, finish=lambda logs: float(logs["g_loss"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unroll", type=int, nargs="+", default=[0, 1, 5])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--unroll-optimizer", nargs="+", default=["sgd"], choices=["sgd", "adam"])
    args = parser.parse_args()
    print(f"Unrolled GAN step cost: `python -m {command_of_caller()}` on {cpu_description()}", flush=True)
    plain = seconds_per_step(0, args.steps) if 0 in args.unroll else None
    rows = [(0, "-", plain)] if plain is not None else []
    rows += [(k, rule, seconds_per_step(k, args.steps, rule)) for rule in args.unroll_optimizer for k in args.unroll
             if k]
    print("| unroll | copy's rule | s/step | vs unroll=0 |\n|---|---|---|---|")
    for k, rule, seconds in rows:
        ratio = f"{seconds / plain:.2f}x" if plain else ""
        print(f"| {k} | {rule} | {seconds:.4f} | {ratio} |")


if __name__ == "__main__":
    main()
