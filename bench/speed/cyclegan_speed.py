"""CycleGAN speed on this machine only: training s/step and translate images/s at 64 px / 6 blocks and
128 px / 9 blocks, batch 1, in float32 and in the policy ``--precision auto`` picks here, beside the
reference CycleGAN's PyTorch step timed in the same run on the same machine
(``reference_cyclegan_torch.py``, in a scratch venv with PyTorch: ``--torch-venv``, created on first use;
``--no-torch`` skips it); FLOPs per step and achieved GFLOP/s against a peak measured in the same run (matmul
and convolution microbenchmarks in each dtype: a virtual machine reports only its nominal clock); float32
with XLA on and with Grappler on beside the defaults; and the wall time from ``img2img train`` to the end of
its first step (a fresh process, as a user runs it).

Every row runs in a fresh process (TensorFlow fixes its thread pools per process): img2img with the CPU
threads ``img2img train`` picks for CycleGAN (the cores split between two ops at a time) and with
TensorFlow's own pools. The reference step and img2img's rows alternate ``--repeats`` times, so all see the
same machine load; the table gives each one's median and range, and every ratio is between medians of this run. Figures
are never divided by another machine's.

    python -m bench.speed.cyclegan_speed --steps 8 --repeats 3 --out bench/results
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.harness import (
    REPO,
    WORK,
    child_result,
    cpu_description,
    per_call,
    print_result,
    scratch_torch_python,
    timed,
)

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


def reference_step(python: Path, size: int, blocks: int, steps: int) -> dict:
    """The reference CycleGAN's PyTorch step at this size, timed by ``reference_cyclegan_torch.py`` in a
    fresh process of the scratch venv's Python (the same warm-up and step count as img2img's rows)."""
    script = Path(__file__).with_name("reference_cyclegan_torch.py")
    return child_result([str(python), str(script), "--size", str(size), "--blocks", str(blocks), "--steps",
                         str(steps)], "the PyTorch reference step")


ROW_KEYS = ("precision", "jit", "grappler", "threads")
REFERENCE = {"precision": "reference PyTorch"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternations of the reference step and img2img's rows in both thread settings")
    parser.add_argument("--torch-venv", type=Path, default=WORK / "torch-venv",
                        help="scratch venv with PyTorch for the reference step (created on first use)")
    parser.add_argument("--no-torch", action="store_true", help="skip the reference PyTorch step")
    parser.add_argument("--no-variants", action="store_true", help="skip the XLA-on and Grappler-on rows")
    parser.add_argument("--sizes", nargs="+", default=[f"{s}/{b}" for s, b in CONFIGS], help="SIZE/BLOCKS ...")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one row, measured in a fresh process
    args = parser.parse_args()
    if args.child:
        print_result(child_row(**json.loads(args.child)))
        return
    print(f"CPU: {cpu_description()}", flush=True)

    from bench.data import emoji_code_points, emoji_folders
    from img2img.devices import choose_policy

    torch_python = None if args.no_torch else scratch_torch_python(args.torch_venv)
    auto = choose_policy("auto")
    peaks = {"float32": in_child({"peak": "float32"})}
    if auto != "float32":  # the peak of the dtype the auto rows compute in, only
        peaks[auto] = in_child({"peak": auto.removeprefix("mixed_")})
    print("measured peak GFLOP/s: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()), flush=True)
    # Rows that alternate with the reference: both precisions, with the threads `img2img train` picks for
    # CycleGAN (auto: the cores split between two ops) and with TensorFlow's own (as `translate` runs).
    precisions = ["float32"] + ([] if auto == "float32" else ["auto"])
    alternating = [dict(precision=p, jit=False, grappler=False, threads=t)
                   for t in ("auto", "tensorflow") for p in precisions]
    once = [] if args.no_variants else [dict(precision="float32", jit=True, grappler=False, threads="auto"),
                                        dict(precision="float32", jit=False, grappler=True, threads="auto")]
    rows, torch_version = [], ""
    with tempfile.TemporaryDirectory() as tmp:
        data = emoji_folders(Path(tmp), emoji_code_points()[:40], size=128)
        for size, blocks in (tuple(int(x) for x in item.split("/")) for item in args.sizes):
            runs: dict[tuple, list[dict]] = {}
            for _ in range(args.repeats):
                if torch_python:
                    peer = reference_step(torch_python, size, blocks, args.steps)
                    torch_version = f"torch {peer['torch']}, {peer['threads']} threads"
                    runs.setdefault(row_key(REFERENCE), []).append(peer)
                    print(f"{size} px, {blocks} blocks, reference PyTorch step: {peer['step']:.3f} s/step", flush=True)
                for row in alternating:
                    runs.setdefault(row_key(row), []).append(measure_row(size, blocks, row, args.steps, auto, peaks))
            for row in once:
                runs[row_key(row)] = [measure_row(size, blocks, row, args.steps, auto, peaks)]
            for key, measured in runs.items():
                row = dict(zip(ROW_KEYS, key, strict=True))
                if row["precision"] != REFERENCE["precision"] and row["threads"] == "auto":
                    measured[0]["start"] = time_to_first_step(size, blocks, row["jit"], row["grappler"], data,
                                                              row["precision"])
                rows.append((size, blocks, row, measured))
    write_table(args.out / "cyclegan_speed.md", table_lines(rows, auto),
                f"CycleGAN speed, batch 1, filters 64 (reference sizes), on {cpu_description()}, "
                f"{time.strftime('%Y-%m-%d')}.\n`python -m bench.speed.cyclegan_speed --steps {args.steps} "
                f"--repeats {args.repeats}`. Each row is measured in a fresh process; the reference step and the "
                "rows without s/step ranges of one run alternate, and every ratio is between medians of this run"
                + (f"; the reference PyTorch step ran in {torch_version}" if torch_version else "")
                + "; measured peak GFLOP/s (one op at a time on every core): "
                + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
                + ". CPU threads: auto = what `img2img train cyclegan` picks (the cores split between two ops at a "
                "time), tensorflow = TensorFlow's own pools (as `img2img translate` runs, so translate images/s "
                "is given for those rows). The default on a CPU is XLA off, Grappler off, --precision auto, "
                "cpu_threads auto.")


def row_key(row: dict) -> tuple:
    return tuple(row.get(k) for k in ROW_KEYS)


def in_child(task: dict) -> object:
    """One measurement in a fresh interpreter (TensorFlow's thread pools are fixed per process)."""
    return child_result([sys.executable, "-m", "bench.speed.cyclegan_speed", "--child", json.dumps(task)],
                        f"the measurement {task}")


def child_row(**task: object) -> object:
    if "peak" in task:
        return peak_gflops(str(task["peak"]))
    from img2img.devices import set_cpu_threads
    from img2img.plugins import get_plugins

    threads = set_cpu_threads(str(task["threads"]), get_plugins().models.get("cyclegan").concurrent_branches)
    f = measure(int(task["size"]), int(task["blocks"]), bool(task["jit"]), bool(task["grappler"]),
                int(task["steps"]), str(task["policy"]))
    return {**f, "threads_in_words": threads}


def measure_row(size: int, blocks: int, row: dict, steps: int, auto: str, peaks: dict[str, float]) -> dict:
    policy = auto if row["precision"] == "auto" else "float32"
    f = in_child({"size": size, "blocks": blocks, "jit": row["jit"], "grappler": row["grappler"],
                  "threads": row["threads"], "steps": steps, "policy": policy})
    f["peak"] = f["gflops_per_s"] / peaks.get(policy, peaks["float32"])
    print(f"{size} px, {blocks} blocks, {policy}, XLA {on(row['jit'])}, Grappler {on(row['grappler'])}, threads "
          f"{row['threads']}: {f['step']:.3f} s/step, {f['images_per_s']:.1f} images/s, {f['gflops_per_s']:.1f} "
          f"GFLOP/s ({f['peak']:.0%} of peak), first step {f['first']:.1f} s", flush=True)
    return f


def table_lines(rows: list[tuple], auto: str) -> list[str]:
    lines = ["| size | blocks | what | CPU threads | XLA | Grappler | s/step (median) | range | vs reference PyTorch "
             "| vs float32 | translate images/s | GFLOP/s | of measured peak | first step traced + run (s) "
             "| train start to first step (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def median(measured: list[dict], key: str) -> float:
        return statistics.median(m[key] for m in measured)

    for size, blocks, row, measured in rows:
        same_size = {row_key(r): m for s, b, r, m in rows if (s, b) == (size, blocks)}
        step = median(measured, "step")
        peer = same_size.get(row_key(REFERENCE))
        vs_peer = f"{median(peer, 'step') / step:.2f}x" if peer else "-"
        spread = (f"{min(m['step'] for m in measured):.3f}-{max(m['step'] for m in measured):.3f}"
                  if len(measured) > 1 else "-")
        if row["precision"] == REFERENCE["precision"]:
            lines.append(f"| {size} | {blocks} | reference PyTorch step (float32) | - | - | - | {step:.3f} | {spread} "
                         f"| 1.00x | - | {median(measured, 'images_per_s'):.1f} | - | - | - | - |")
            continue
        base = median(same_size[row_key(dict(precision="float32", jit=False, grappler=False, threads="auto"))],
                      "step")
        label = f"img2img {row['precision']}" + (f" ({auto})" if row["precision"] == "auto" else "")
        translate = f"{median(measured, 'images_per_s'):.1f}" if row["threads"] == "tensorflow" else "-"
        start = f"{measured[0]['start']:.1f}" if "start" in measured[0] else "-"
        lines.append(f"| {size} | {blocks} | {label} | {row['threads']} | {on(row['jit'])} | {on(row['grappler'])} "
                     f"| {step:.3f} | {spread} | {vs_peer} | {base / step:.2f}x | {translate} "
                     f"| {median(measured, 'gflops_per_s'):.1f} | {median(measured, 'peak'):.0%} "
                     f"| {median(measured, 'first'):.1f} | {start} |")
    return lines


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
