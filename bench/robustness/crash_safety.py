"""Crash safety: SIGKILL training runs at random moments, restart them with the same command, count outcomes.

Each trial starts ``img2img train MODEL ... --resume`` (the very command a job scheduler would restart), kills
it with SIGKILL at a random moment between launch and the end of an uninterrupted run, then runs the same
command again to the end. A trial is:

- **finished**: the restart exited 0 at the final step asked for;
- **resumed**: and it continued from a checkpoint the killed process had written (not from step 0);
- **corrupt**: anything wrong: the checkpoint latest.json names does not load, the final step is not the one
  asked for, or metrics.csv does not hold exactly one row per finished epoch.

The goal is every trial finished and none corrupt. Results go to a JSON-lines file one trial at a time, so
a stopped benchmark continues where it was with the same command:

    python -m bench.robustness.crash_safety --trials 20 --out bench-work/crash
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import REPO, cpu_description, timed

MODELS = {
    # 300 steps, 5 an epoch: 60 checkpoints, and training takes most of the run's time, start-up the rest.
    "dcgan": ["--image-size", "16", "--set", "filters=8", "--set", "latent_dim=16", "--batch-size", "32",
              "--steps", "300", "--steps-per-epoch", "5"],
    # A narrow CycleGAN on real emoji, 3 steps an epoch: pools, two generators, the LR schedule.
    "cyclegan": ["--image-size", "32", "--set", "filters=8", "--set", "d_filters=8", "--set", "blocks=2",
                 "--batch-size", "2", "--steps", "90", "--steps-per-epoch", "3"],
}


def data_for(model: str, work: Path) -> list[str]:
    from bench.data import digits_folder, emoji_code_points, emoji_folders

    if model == "dcgan":
        folder = work / "digits"
        if not folder.exists():
            digits_folder(folder, count=300)
        return ["--data", str(folder)]
    points = emoji_code_points()
    line, colour = work / "emoji" / "line", work / "emoji" / "colour"
    if not line.exists():
        line, colour = emoji_folders(work / "emoji", points[:: len(points) // 48][:48], size=32)
    return ["--data", str(line), "--data-b", str(colour)]


def command(model: str, data: list[str], out: Path) -> list[str]:
    return [sys.executable, "-m", "img2img", "train", model, *data, *MODELS[model], "--out", str(out), "--resume"]


def final_step(model: str) -> int:
    args = MODELS[model]
    return int(args[args.index("--steps") + 1])


def check(run: Path, model: str) -> list[str]:
    """What is wrong with a finished run directory (empty when nothing is)."""
    from img2img.plugins import get_plugins
    from img2img.runs import RunDirectory
    from img2img.training.assembly import load_run_model

    problems = []
    latest = json.loads((run / "checkpoints" / "latest.json").read_text())
    if latest["step"] != final_step(model):
        problems.append(f"final step {latest['step']}, asked {final_step(model)}")
    try:
        load_run_model(RunDirectory.open(run), get_plugins())
    except Exception as exc:  # any failure to load is what this benchmark counts
        problems.append(f"latest checkpoint does not load: {exc}")
    with (run / "metrics.csv").open() as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    if epochs != list(range(latest["epoch"])):
        problems.append(f"metrics rows for epochs {epochs}, expected 0..{latest['epoch'] - 1}")
    return problems


def trial(model: str, data: list[str], out: Path, kill_after: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.Popen(command(model, data, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env)
    time.sleep(kill_after)
    exited_before = killed.poll() is not None
    if not exited_before:
        killed.send_signal(signal.SIGKILL)
    killed.wait()
    latest = out / "checkpoints" / "latest.json"
    step_at_kill = json.loads(latest.read_text())["step"] if latest.is_file() else 0
    restart = subprocess.run(command(model, data, out), capture_output=True, text=True, env=env, timeout=1800)
    row = {"model": model, "kill_after_s": round(kill_after, 2), "exited_before_kill": exited_before,
           "step_at_kill": step_at_kill, "restart_rc": restart.returncode}
    row["finished"] = restart.returncode == 0
    row["resumed"] = row["finished"] and "Resuming" in restart.stderr
    row["problems"] = check(out, model) if row["finished"] else [restart.stderr.strip().splitlines()[-1:]]
    row["corrupt"] = bool(row["problems"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="kills per model")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--out", type=Path, default=Path("bench-work/crash"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from img2img.quiet import filter_native_logs

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as the CLI does: the notes that still honour it
    filter_native_logs()  # this process loads each finished run to check it: no TensorFlow start-up lines
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "trials.jsonl"
    done = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    print(f"CPU: {cpu_description()}", flush=True)
    for model in args.models:
        data = data_for(model, args.out)
        baseline = args.out / f"{model}-baseline"
        timing = args.out / f"{model}-baseline.json"
        if not timing.exists():  # how long an uninterrupted run takes, launch to exit: the range of kill times
            launch = command(model, data, baseline)
            seconds = timed(lambda: subprocess.run(launch, check=True, capture_output=True,  # noqa: B023 (called now)
                                                   env={**os.environ, "PYTHONPATH": str(REPO)}))
            timing.write_text(json.dumps({"seconds": seconds}))
        seconds = json.loads(timing.read_text())["seconds"]
        rng = random.Random(f"{args.seed}-{model}")
        kills = [rng.uniform(0.5, seconds) for _ in range(args.trials)]
        print(f"{model}: an uninterrupted run takes {seconds:.1f} s; kills between 0.5 s and that", flush=True)
        for number, kill_after in enumerate(kills):
            if any(r["model"] == model and r["trial"] == number for r in done):
                continue
            row = {"trial": number, **trial(model, data, args.out / f"{model}-{number:02d}", kill_after)}
            done.append(row)
            with results.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            corrupt = f"; CORRUPT: {row['problems']}" if row["corrupt"] else ""
            print(f"  trial {number:2d}: killed at {kill_after:5.1f} s (step {row['step_at_kill']:3d}); "
                  f"{'resumed' if row['resumed'] else 'restarted'}, "
                  f"{'finished' if row['finished'] else 'FAILED'}{corrupt}", flush=True)
    print("\n| model | trials | resumed | finished | corrupt |\n|---|---|---|---|---|")
    for model in args.models:
        rows = [r for r in done if r["model"] == model]
        print(f"| {model} | {len(rows)} | {sum(r['resumed'] for r in rows)} | {sum(r['finished'] for r in rows)} "
              f"| {sum(r['corrupt'] for r in rows)} |")


if __name__ == "__main__":
    main()
