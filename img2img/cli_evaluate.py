"""``img2img evaluate``: FID and KID of a run's outputs against target images, plus L1, PSNR and SSIM against
paired answers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from img2img.cli_errors import echo_err, friendly_errors


@click.command()
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="A run directory or a shipped model's name (default: the shipped default model).")
@click.option("--data", type=click.Path(path_type=Path), help="Inputs to translate (image-to-image runs).")
@click.option("--truth", type=click.Path(path_type=Path),
              help="Each input's answer under the same relative path and name: adds L1, PSNR and SSIM.")
@click.option("--target", type=click.Path(path_type=Path), help="Images of the output domain (FID and KID only).")
@click.option("--features", type=click.Choice(["inception", "pixels16"]), default="inception", show_default=True,
              help="inception: the standard FID network (comparable with papers); pixels16: a small extractor.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def evaluate(model_path: Path | None, data: Path | None, truth: Path | None, target: Path | None, features: str,
             as_json: bool) -> None:
    """Score a run: translate --data (or sample, for models without inputs) and compare the outputs with
    --target images (FID, KID) or with --truth answers paired by name (also L1, PSNR, SSIM).

    Every report names its feature extractor and gives KID's spread over subsets.
    """
    from img2img.evaluate import evaluate as run_evaluation
    from img2img.plugins import get_plugins
    from img2img.pretrained import resolve_model

    folder = resolve_model(model_path)
    echo_err(f"Evaluating {folder} ...")
    report = run_evaluation(folder, data, truth, target, features, get_plugins())
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    click.echo("\n".join(report.lines()))
