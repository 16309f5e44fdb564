"""Training time with one step per call into TensorFlow against several (``--set steps_per_execution=N``),
for small models whose step is mostly Python's per-call overhead.

Each measurement is ``img2img train MODEL`` in a fresh process, alternating the counts ``--repeats`` times so
all see the same machine load; it reads the command's own "Trained to step S in T s" (training only, after
start-up) and prints the medians and their ratio to one step per call, with each run's final losses, which
must agree (the count changes how steps are dispatched, not what they compute).

    python -m bench.speed.steps_per_execution_ab --repeats 3
    python -m bench.speed.steps_per_execution_ab --model dcgan --data FOLDER --image-size 16 --batch-size 64 \
        --steps 600 --counts 1 10 100
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import cpu_description


def train_seconds(model: str, data: str, steps: int, batch: int, count: int, out: Path,
                  image_size: int | None = None) -> tuple[float, str]:
    command = [sys.executable, "-m", "img2img", "train", model, "--data", data, "--steps", str(steps),
               "--steps-per-epoch", str(steps), "--batch-size", str(batch), "--precision", "float32",
               "--set", f"steps_per_execution={count}", "--out", str(out)]
    if image_size:
        command += ["--image-size", str(image_size)]
    result = subprocess.run(command, capture_output=True, text=True)
    trained = re.search(r"Trained to step \d+ in ([0-9.]+) s", result.stdout + result.stderr)
    if result.returncode != 0 or not trained:
        raise SystemExit(f"img2img train failed:\n{(result.stdout + result.stderr)[-2000:]}")
    losses = re.findall(r"(\w+_loss: [-0-9.e+]+)", result.stdout + result.stderr)
    return float(trained.group(1)), ", ".join(losses[-2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="toy-mlp")
    parser.add_argument("--data", default="toy:grid25:std=0.05")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image-size", type=int, help="for image models")
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    seconds: dict[int, list[float]] = {count: [] for count in args.counts}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for count in args.counts:
                value, losses = train_seconds(args.model, args.data, args.steps, args.batch_size, count,
                                              Path(tmp) / f"run-{repeat}-{count}", args.image_size)
                seconds[count].append(value)
                print(f"steps_per_execution={count}: {value:.1f} s ({losses})", flush=True)
    base = statistics.median(seconds[args.counts[0]])
    size = f", {args.image_size} px" if args.image_size else ""
    print(f"\n{args.model}{size}, {args.steps} steps, batch {args.batch_size}, float32; training seconds (after "
          f"start-up), medians of {args.repeats} alternating fresh processes\n")
    print(f"| steps per call | runs (s) | median (s) | speed vs {args.counts[0]} |\n|---|---|---|---|")
    for count, values in seconds.items():
        median = statistics.median(values)
        print(f"| {count} | {', '.join(f'{v:.1f}' for v in values)} | {median:.1f} | {base / median:.2f}x |")


if __name__ == "__main__":
    main()
