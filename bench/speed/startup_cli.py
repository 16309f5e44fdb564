"""Seconds from launching ``img2img train`` to the end of its first step, as a user meets it.

Runs ``img2img train cyclegan --image-size 64 --batch-size 1 --steps 1`` (with ``--precision`` and
``--strategy`` as given; the command's own "first step done N s after start" line, which counts from the
process's start) ``--repeats`` times on 40 real emoji and prints each figure and the median. ``--baseline
TREE`` also runs another checkout of img2img (for instance ``git worktree add /tmp/before COMMIT``),
alternating with this one so both see the same machine load, and prints the ratio of the medians.

    python -m bench.speed.startup_cli --repeats 5
    python -m bench.speed.startup_cli --repeats 5 --baseline /tmp/before
    python -m bench.speed.startup_cli --repeats 3 --strategy mirrored --precision float32
    python -m bench.speed.startup_cli --repeats 3 --strategy mirrored --replicas 4
    python -m bench.speed.startup_cli --repeats 3 --strategy multi-worker
    python -m bench.speed.startup_cli --repeats 3 --per-device 8       # batch 8 on one device

``--strategy multi-worker`` starts two worker processes on localhost (TF_CONFIG, batch 2: one image each)
and counts the slower of the two, since neither trains on before both have stepped.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import compared_trees, cpu_description, localhost_tf_configs


def first_step_seconds(data: tuple[Path, Path], out: Path, *, size: int = 64, settings: tuple[str, ...] = (),
                       python_path: str | None = None, precision: str = "auto", strategy: str = "one",
                       replicas: int = 2, per_device: int = 1) -> float:
    """``img2img train cyclegan`` (batch 1, one step, ``--set`` each of ``settings``) in a fresh process: the
    seconds it reports from its start to the end of its first step. ``strategy="mirrored"`` trains on
    ``replicas`` replicas; without GPUs on the CPU split that many ways (``IMG2IMG_CPU_DEVICES``). Each device
    (replica, worker) trains on ``per_device`` images a step."""
    env = dict(os.environ)
    if python_path:
        env["PYTHONPATH"] = python_path
    batch = str(per_device)
    if strategy == "mirrored":
        env.setdefault("IMG2IMG_CPU_DEVICES", str(replicas))
        batch = str(replicas * per_device)
    command = [sys.executable, "-m", "img2img", "train", "cyclegan", "--data", str(data[0]), "--data-b",
               str(data[1]), "--image-size", str(size), "--batch-size", batch, "--steps", "1", "--precision", precision,
               "--strategy", strategy, "--out", str(out)]
    for setting in settings:
        command += ["--set", setting]
    if strategy == "multi-worker":
        return max(_workers_first_step(command, env, out, batch_per_worker=per_device))
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out.parent)
    return _reported_seconds(result.returncode, result.stderr)


def _reported_seconds(status: int, stderr: str) -> float:
    match = re.search(r"first step done ([0-9.]+) s after start", stderr)
    if status != 0 or not match:
        raise SystemExit(f"img2img train failed:\n{stderr[-2000:]}")
    return float(match.group(1))


def _workers_first_step(command: list[str], env: dict[str, str], out: Path, batch_per_worker: int) -> list[float]:
    """Each of two localhost workers' own first-step figure (TF_CONFIG on free ports; the non-chief's
    scratch files go to a temporary folder, as img2img's docs say)."""
    command = [*command]
    command[command.index("--batch-size") + 1] = str(2 * batch_per_worker)
    processes, logs = [], [out.parent / f"{out.name}-worker-{index}.err" for index in range(2)]
    for tf_config, log in zip(localhost_tf_configs(2), logs, strict=True):
        worker_env = {**env, "TF_CONFIG": tf_config}
        worker_env.pop("IMG2IMG_CPU_DEVICES", None)
        with log.open("w") as err:  # a file, not a pipe: a full pipe would stall the worker writing to it
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=worker_env,
                                              cwd=out.parent))
    statuses = [p.wait(timeout=600) for p in processes]
    return [_reported_seconds(status, log.read_text()) for status, log in zip(statuses, logs, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another img2img checkout to compare with")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--strategy", choices=("one", "mirrored", "multi-worker"), default="one",
                        help="mirrored: --replicas replicas, one image each (the CPU split where there is no GPU); "
                             "multi-worker: two worker processes on localhost, batch 2")
    parser.add_argument("--replicas", type=int, default=2, help="with --strategy mirrored: how many (batch as many)")
    parser.add_argument("--per-device", type=int, default=1,
                        help="images a step on each device (replica, worker); global batch = this x devices")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from bench.data import emoji_code_points, emoji_folders

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        data = emoji_folders(scratch, emoji_code_points()[:40], size=128)
        trees = compared_trees(args.baseline, scratch)
        seconds: dict[str, list[float]] = {name: [] for name in trees}
        for repeat in range(args.repeats):
            for index, (name, python_path) in enumerate(trees.items()):
                out = scratch / f"run-{repeat}-{index}"
                seconds[name].append(first_step_seconds(data, out, python_path=python_path, precision=args.precision,
                                                        strategy=args.strategy, replicas=args.replicas,
                                                        per_device=args.per_device))
                print(f"{name}: {seconds[name][-1]:.1f} s", flush=True)
    print("\n| img2img | runs (s) | median (s) |\n|---|---|---|")
    for name, values in seconds.items():
        print(f"| {name} | {', '.join(f'{v:.1f}' for v in values)} | {statistics.median(values):.1f} |")
    if args.baseline:
        ours, theirs = (statistics.median(v) for v in (seconds["this checkout"], seconds[next(iter(seconds))]))
        print(f"\nmedian ratio this / baseline: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
