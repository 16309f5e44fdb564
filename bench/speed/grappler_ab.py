"""Grappler on vs off for the CycleGAN training step, each measurement in a fresh process, alternating.

One run of ``cyclegan_speed.py`` measures every variant once in one process; on a shared 2-core machine a
single 8-step figure moves by 10-15 % between runs, which is as large as the effect being judged. This
script repeats the comparison with alternating fresh processes and reports medians and their ratio, which is
what the default (Grappler off on CPUs) rests on.

    python -m bench.speed.grappler_ab --repeats 3 --steps 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench.harness import cpu_description
from bench.speed.cyclegan_speed import CONFIGS, REPO, measure, on, write_table


def one(size: int, blocks: int, grappler: bool, steps: int) -> None:
    figures = measure(size, blocks, jit=False, grappler=grappler, steps=steps)
    print(json.dumps({"first": figures["first"], "step": figures["step"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--one", nargs=3, type=int, metavar=("SIZE", "BLOCKS", "GRAPPLER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)
    if args.one:
        one(args.one[0], args.one[1], bool(args.one[2]), args.steps)
        return

    results: dict[tuple[int, int, bool], list[dict[str, float]]] = {}
    for repeat in range(args.repeats):
        for size, blocks in CONFIGS:
            for grappler in (True, False):
                command = [sys.executable, "-m", "bench.speed.grappler_ab", "--steps", str(args.steps),
                           "--one", str(size), str(blocks), str(int(grappler))]
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                figures = json.loads(output.strip().splitlines()[-1])
                results.setdefault((size, blocks, grappler), []).append(figures)
                print(f"repeat {repeat + 1}: {size} px, {blocks} blocks, Grappler {on(grappler)}: "
                      f"{figures['step']:.3f} s/step, first step {figures['first']:.1f} s", flush=True)

    lines = ["| size | blocks | s/step Grappler on | s/step off | off / on | first step on (s) | first step off (s) |",
             "|---|---|---|---|---|---|---|"]
    for size, blocks in CONFIGS:
        with_on, with_off = results[(size, blocks, True)], results[(size, blocks, False)]
        step_on = statistics.median(f["step"] for f in with_on)
        step_off = statistics.median(f["step"] for f in with_off)
        lines.append(f"| {size} | {blocks} | {step_on:.3f} | {step_off:.3f} | {step_off / step_on:.2f} "
                     f"| {statistics.median(f['first'] for f in with_on):.1f} "
                     f"| {statistics.median(f['first'] for f in with_off):.1f} |")
    write_table(args.out / "grappler_ab.md", lines,
                f"CycleGAN training step, batch 1, filters 64, XLA off; medians of {args.repeats} alternating fresh "
                f"processes, {args.steps} timed steps each.\n"
                f"`python -m bench.speed.grappler_ab --repeats {args.repeats} --steps {args.steps}`")


if __name__ == "__main__":
    main()
