"""Where a CycleGAN training step's time goes, op type by op type, in img2img and in the reference PyTorch step.

img2img's step (as ``cyclegan_speed`` builds it) runs under TensorFlow's profiler; the time of each executed
op is summed by op type (Conv2DBackpropFilter, MirrorPad, ...) and divided by the steps profiled. The
reference step (``reference_cyclegan_torch.py``, in the scratch PyTorch venv) runs under
``torch.profiler``, summed by op name in the same way (self CPU time). Both print a table of their top op
types with milliseconds per step and share of the step, measured in one run on this machine, so the two can be
read side by side: what one does slower than the other is where tuning pays.

    python -m bench.speed.step_profile --size 64 --blocks 6 --precision float32 --steps 5 --threads serial
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.harness import REPO, RESULT_TAG, WORK, child_result, cpu_description, scratch_torch_python, write_result

TORCH_SIDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
from reference_cyclegan_torch import reference_cyclegan
size, blocks, steps = (int(a) for a in sys.argv[2:5])
torch.manual_seed(0)
step = reference_cyclegan(size, blocks)
a, b = torch.rand(1, 3, size, size) * 2 - 1, torch.rand(1, 3, size, size) * 2 - 1
step(a, b); step(a, b)
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
    for _ in range(steps):
        step(a, b)
ops = {e.key: e.self_cpu_time_total / 1e3 / steps for e in prof.key_averages()}
print(sys.argv[5] + json.dumps(ops))
"""


def tensorflow_profile(size: int, blocks: int, policy: str, steps: int) -> dict[str, float]:
    """Milliseconds per step of each TensorFlow op type, from the host plane of the profiler's XSpace."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    from bench.speed.cyclegan_speed import cyclegan_and_batches
    from img2img.devices import policy_scope, set_graph_optimizer

    set_graph_optimizer("false")
    with policy_scope(policy):
        model, batches = cyclegan_and_batches(size, blocks)
    train = tf.function(model.train_step, reduce_retracing=True, autograph=False)
    for i in range(2):
        train(batches[i])
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for i in range(steps):
            out = train(batches[i % 4])
        np.asarray(out["g_loss"])
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(next(Path(logdir).rglob("*.xplane.pb")).read_bytes())
    per_type: collections.Counter[str] = collections.Counter()
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):  # the executor's threads; 'python' holds the wrappers
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                op_type = name.rsplit(":", 1)[1] if ":" in name else "Process"
                if op_type != "Process":  # an executed op ('op name:OpType'), not the executor's own wrapper
                    per_type[op_type] += event.duration_ps / 1e9 / steps
    return dict(per_type)


def torch_profile(python: Path, size: int, blocks: int, steps: int) -> dict[str, float]:
    return child_result([str(python), "-c", TORCH_SIDE, str(Path(__file__).parent), str(size), str(blocks),
                         str(steps), RESULT_TAG], "the PyTorch profile")


def top(ops: dict[str, float], count: int) -> list[tuple[str, float]]:
    return sorted(ops.items(), key=lambda item: -item[1])[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--precision", default="float32", help="float32, or the policy to profile img2img in")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--threads", choices=("serial", "auto", "tensorflow"), default="serial",
                        help="img2img's CPU threads: serial = one op at a time on every core, as PyTorch runs "
                        "(op times comparable side by side); auto = as `img2img train cyclegan` runs; "
                        "tensorflow = TensorFlow's own pools")
    parser.add_argument("--torch-venv", type=Path, default=WORK / "torch-venv")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "step_profile")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)
    from img2img.devices import choose_policy

    if args.threads == "serial":
        import tensorflow as tf

        tf.config.threading.set_inter_op_parallelism_threads(1)
    else:
        from img2img.devices import set_cpu_threads

        set_cpu_threads(args.threads, concurrent_branches=True)
    policy = choose_policy(args.precision) if args.precision == "auto" else args.precision
    sides = {f"img2img ({policy})": tensorflow_profile(args.size, args.blocks, policy, args.steps)}
    if not args.no_torch:
        python = scratch_torch_python(args.torch_venv)
        sides["reference PyTorch (float32)"] = torch_profile(python, args.size, args.blocks, args.steps)
    lines = [f"Per-op profile of one CycleGAN training step, {args.size} px, {args.blocks} blocks, batch 1, "
             f"{args.steps} steps profiled after two warm-up steps, on {cpu_description()}.",
             f"`python -m bench.speed.step_profile --size {args.size} --blocks {args.blocks} "
             f"--precision {args.precision} --steps {args.steps} --threads {args.threads}`. Time inside ops only "
             "(self time), in ms per step; the profiler's own overhead inflates small ops on both sides. With "
             "threads other than serial TensorFlow runs ops side by side, so its op time can exceed the step's.",
             ""]
    for side, ops in sides.items():
        total = sum(ops.values())
        lines += [f"### {side}: {total:.0f} ms of op time per step", "", "| op | ms/step | share |", "|---|---|---|"]
        lines += [f"| {name} | {ms:.1f} | {ms / total:.1%} |" for name, ms in top(ops, args.top)]
        lines.append("")
    print("\n".join(lines))
    write_result(args.out / f"{args.size}-{args.blocks}-{policy}-{args.threads}.md", lines)


if __name__ == "__main__":
    main()
