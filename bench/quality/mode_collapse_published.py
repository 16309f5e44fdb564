"""The mode-collapse benchmark at the published settings (issue 23; reference.md, "Mode collapse
benchmark"): the ring (8 modes, radius 1, sigma 0.01) or the grid (25 modes on {-4..4}^2, sigma 0.05),
PacGAN's definitions (high quality within 3 sigma; a mode covered by one high-quality sample; reverse KL of
the mode histogram), 2,500 samples, mean ± standard error over seeds, beside VEEGAN's and PacGAN's tables.

Each (row, seed) run writes its raw scores to --work/raw/DATA[-STEPS-steps]/ROW-seedN.json and is skipped
when that file exists, so the benchmark runs in resumable pieces (run it again to go on; --only picks rows).
Each budget has its own table, rebuilt from every raw file of that budget.

    python -m bench.quality.mode_collapse_published --data ring8 --steps 5000 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bench.harness import cpu_description, timed_value

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SAMPLES = 2500
DEFAULT_STEPS = 5000
PACGAN_NETWORKS = ["latent_dim=2", "hidden=400", "layers=4", "batch_norm=true", "critic_hidden=200",
                   "critic_layers=3", "maxout=5"]
# With epochs=10: five epochs at lr, then five at 5/6 ... 1/6 of it (the reference CycleGAN rule's steps).
DECAY = ["lr_constant_epochs=5", "lr_decay_epochs=5"]


class Row(NamedTuple):
    """One table row: toy-mlp defaults (3 x 128 ReLU, z 16, Adam 1e-3 with beta_1 0.5) unless settings say.
    ``epochs`` splits the steps into epochs, which only the learning-rate schedule reads."""

    name: str
    loss: str
    penalties: list[str]
    settings: list[str]
    batch: int
    epochs: int = 1


# "authors' toy" is poolio/unrolled_gan's toy: z 256, 2 x 128 tanh, lr 1e-3 (G) and 1e-4 (D), batch 512,
# K = 5 (reference.md, "Unrolled GAN").
ROWS: list[Row] = [
    Row("gan", "gan", [], [], 256),
    Row("unroll=5", "gan", [], ["unroll=5"], 256),
    Row("unroll=5, authors' toy", "gan", [], ["unroll=5", "latent_dim=256", "hidden=128", "layers=2",
                                              "activation=tanh", "lr=1e-3", "d_lr=1e-4"], 512),
    # The copy stepping by the critic's own Adam (the authors' notebook) instead of SGD at its rate.
    Row("unroll=5, Adam copy", "gan", [], ["unroll=5", "unroll_optimizer=adam"], 256),
    Row("unroll=5, authors' toy, Adam copy", "gan", [], ["unroll=5", "unroll_optimizer=adam", "latent_dim=256",
                                                         "hidden=128", "layers=2", "activation=tanh", "lr=1e-3",
                                                         "d_lr=1e-4"], 512),
    Row("pack=4", "gan", [], ["pack=4"], 256),
    Row("consensus", "gan", ["consensus"], [], 256),
    Row("wgan-gp", "wgan-gp", [], [], 256),
    Row("lsgan", "lsgan", [], [], 256),
    Row("hinge", "hinge", [], [], 256),
    Row("gan, lr decay", "gan", [], DECAY, 256, epochs=10),
    Row("pack=4, lr decay", "gan", [], ["pack=4", *DECAY], 256, epochs=10),
    Row("pack=4, lr decay, large batch", "gan", [], ["pack=4", *DECAY], 512, epochs=10),
    Row("hinge, lr decay", "hinge", [], DECAY, 256, epochs=10),
    # Consensus covers every mode at 60,000 steps but puts fewer samples on them; the decay sharpens them.
    Row("consensus, lr decay", "gan", ["consensus"], DECAY, 256, epochs=10),
    # PacGAN's generator size, 4 x 400; the critic gets the same layers here (PacGAN's: 3 x 200 maxout).
    Row("pack=4, lr decay, large batch, 4 x 400", "gan", [], ["pack=4", "hidden=400", "layers=4", *DECAY], 512,
        epochs=10),
    # PacGAN's own networks (reference.md): G 4 x 400 ReLU + batch norm from a 2-d z, D 3 maxout layers of
    # 200 units x 5 pieces; first with this table's optimiser and schedule, then with PacGAN's optimiser and
    # batch (Adam 1e-4, beta_1 0.8, batch 100, constant rate), which our budget gives 1/20 of its epochs.
    Row("pack=4, lr decay, large batch, PacGAN's networks", "gan", [], ["pack=4", *PACGAN_NETWORKS, *DECAY], 512,
        epochs=10),
    Row("pack=4, PacGAN's networks and optimiser", "gan", [], ["pack=4", *PACGAN_NETWORKS, "lr=1e-4", "beta_1=0.8"],
        100),
]
# reference.md: VEEGAN Table 1 (mean of 5 runs) and PacGAN Table 1 (mean ± s.e. of 10 trials).
VEEGAN = {"ring8": [("GAN", "1", "99.3", "-"), ("ALI", "2.8", "0.13", "-"),
                    ("Unrolled GAN (5 steps)", "7.6", "35.6", "-"), ("VEEGAN", "8", "52.9", "-")],
          "grid25": [("GAN", "3.3", "0.5", "-"), ("ALI", "15.8", "1.6", "-"),
                     ("Unrolled GAN (5 steps)", "23.6", "16", "-"), ("VEEGAN", "24.6", "40", "-")]}
PACGAN = {"ring8": [("GAN", "6.3±0.5", "98.2±0.2", "0.45±0.09"), ("ALI", "6.6±0.3", "97.6±0.4", "0.36±0.04"),
                    ("PacGAN2", "7.9±0.1", "95.6±2.0", "0.07±0.03"), ("PacGAN3", "7.8±0.1", "97.7±0.3", "0.10±0.02"),
                    ("PacGAN4", "7.8±0.1", "95.9±1.4", "0.07±0.02")],
          "grid25": [("GAN", "17.3±0.8", "94.8±0.7", "0.70±0.07"), ("ALI", "24.1±0.4", "95.7±0.6", "0.14±0.03"),
                     ("PacGAN2", "23.8±0.7", "91.3±0.8", "0.13±0.04"), ("PacGAN3", "24.6±0.4", "94.2±0.4", "0.06±0.02"),
                     ("PacGAN4", "24.8±0.2", "93.6±0.6", "0.04±0.01")]}


def slug(row: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in row).strip("-")


def run_one(plugins, spec: str, row: Row, seed: int, steps: int, out: Path,
            steps_per_execution: int = 1) -> tuple[dict, float]:
    from img2img.runs import load_generator
    from img2img.training.trainer import Trainer, TrainRequest
    from img2img_plugins.toy.distributions import mixture_for

    request = TrainRequest(model="toy-mlp", data=f"toy:{spec}", loss=row.loss, penalties=row.penalties,
                           settings=[*row.settings, f"steps_per_execution={steps_per_execution}"], steps=steps,
                           steps_per_epoch=steps // row.epochs,
                           batch_size=row.batch, seed=seed, out=out, verbose=0, precision="float32")

    def train_and_score() -> dict:
        result = Trainer(request, plugins, lambda message: None).run()
        generator = load_generator(result.run)
        z = np.random.default_rng(10_000 + seed).standard_normal((SAMPLES, int(generator.inputs[0].shape[-1])))
        samples = np.asarray(generator(z.astype(np.float32), training=False))
        return mixture_for(spec).pacgan_scores(samples)

    return timed_value(train_and_score)


def budget_name(data: str, steps: int) -> str:
    """Each budget has its own table (NAME.md) and raw folder (raw/NAME/); the default budget's keep the
    names the docs cite."""
    return data if steps == DEFAULT_STEPS else f"{data}-{steps}-steps"


def mean_se(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f}±{se:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["ring8", "grid25"], default="ring8")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--only", nargs="*", help="rows to run (default: all)")
    parser.add_argument("--work", type=Path, default=Path("bench/results/mode-collapse-published"))
    parser.add_argument("--steps-per-execution", type=int, default=1000,
                        help="training steps per call into TensorFlow; the results are the same for any value "
                             "(the trainer lowers it to divide the epoch), only faster")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from img2img.plugins import get_plugins
    from img2img_plugins.toy.distributions import PUBLISHED

    plugins = get_plugins()
    spec = PUBLISHED[args.data]
    raw = args.work / "raw" / budget_name(args.data, args.steps)
    raw.mkdir(parents=True, exist_ok=True)
    for row in ROWS:
        if args.only and row.name not in args.only:
            continue
        for seed in args.seeds:
            path = raw / f"{slug(row.name)}-seed{seed}.json"
            if path.exists():  # the folder is this budget's
                continue
            with tempfile.TemporaryDirectory() as tmp:
                scores, seconds = run_one(plugins, spec, row, seed, args.steps, Path(tmp) / "run",
                                          args.steps_per_execution)
            record = {"row": row.name, "seed": seed, "steps": args.steps, "batch": row.batch, "data": f"toy:{spec}",
                      "scores": scores, "seconds": seconds, "cpu": cpu_description(),
                      "steps_per_execution": args.steps_per_execution}
            path.write_text(json.dumps(record, indent=1))
            print(f"{row.name} seed {seed}: {scores} in {seconds:.0f} s", flush=True)
    write_table(args, raw, spec)


def write_table(args: argparse.Namespace, raw: Path, spec: str) -> None:
    records = [json.loads(p.read_text()) for p in sorted(raw.glob("*.json"))]
    total = 8 if args.data == "ring8" else 25
    # Rows are run in pieces, possibly on different machines: each raw file names its CPU (files written
    # before it did say "not recorded"), and the table names one machine only when every row ran on it.
    machines = sorted({r.get("cpu", "not recorded") for r in records})
    per_row = len(machines) > 1
    where = (f"Machine: {machines[0]}." if not per_row else
             "The rows ran on different machines (last column); compare s/run only within one machine.")
    lines = [f"# Mode collapse at the published settings: toy:{spec}", "",
             f"toy-mlp, {args.steps} steps, float32, {SAMPLES} samples per run; mean ± standard error over seeds; "
             f"PacGAN's definitions (reference.md). {where}", "",
             f"| ours | seeds | modes (of {total}) | % high quality | reverse KL | s/run |"
             + (" machine |" if per_row else ""),
             "|---|---|---|---|---|---|" + ("---|" if per_row else "")]
    for row in ROWS:
        mine = [r for r in records if r["row"] == row.name]
        if not mine:
            continue
        modes, quality, kl = ([float(r["scores"][key]) for r in mine] for key in ("modes", "high_quality",
                                                                                     "reverse_kl"))
        lines.append(f"| {row.name} (batch {row.batch}) | {len(mine)} | {mean_se(modes, 1)} | "
                     f"{mean_se(quality, 1)} | {mean_se(kl, 2)} | "
                     f"{statistics.mean(r['seconds'] for r in mine):.0f} |"
                     + (f" {'; '.join(sorted({r.get('cpu', 'not recorded') for r in mine}))} |" if per_row else ""))
    lines += ["", "VEEGAN (Srivastava et al. 2017, Table 1; mean of 5 runs) and PacGAN (Lin et al. 2018, Table 1; "
              "mean ± s.e. of 10 trials), as quoted in reference.md. Their networks and budgets differ from ours: "
              "PacGAN trains G 4x400 ReLU+BN with 2-d z against a 3-layer maxout D, Adam 1e-4, batch 100, 400 "
              "epochs over 100k samples (about 400,000 steps).", "",
              "| published | modes | % high quality | reverse KL |", "|---|---|---|---|"]
    lines += [f"| VEEGAN: {name} | {m} | {q} | {k} |" for name, m, q, k in VEEGAN[args.data]]
    lines += [f"| PacGAN: {name} | {m} | {q} | {k} |" for name, m, q, k in PACGAN[args.data]]
    lines += ["", f"Command: `python -m bench.quality.mode_collapse_published --data {args.data} "
              f"--steps {args.steps} --seeds {' '.join(map(str, sorted({r['seed'] for r in records})))}`; raw "
              f"per-seed scores in raw/{raw.name}/."]
    (args.work / f"{raw.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
