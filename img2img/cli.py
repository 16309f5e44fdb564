"""The ``img2img`` command line. TensorFlow is imported only inside commands that need it, so
``img2img --help``, ``models`` listing and plugin management stay fast."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from img2img import __version__
from img2img.cli_errors import echo_err, friendly_errors
from img2img.cli_evaluate import evaluate
from img2img.cli_plugins import install, models, plugins, uninstall
from img2img.distribute import STRATEGIES
from img2img.errors import Img2ImgError
from img2img.plugins import get_plugins
from img2img.pretrained import announce_shipped, resolve_model
from img2img.quiet import VERBOSE_ENV, filter_native_logs, verbose_requested

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) is noise to a CLI user: its own switch for what
# still honours it, and img2img.quiet for the absl lines that ignore it. --verbose shows them all.
_USER_TF_LOG_LEVEL = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="img2img")
@click.option("--verbose", is_flag=True, help=f"Also show TensorFlow's native log lines (or set {VERBOSE_ENV}=1).")
def cli(verbose: bool) -> None:
    """img2img: train GANs from plugins and turn images (or prompts) into images.

    Any model trains with any adversarial loss; both come from plugins.
    See 'img2img models' for what is installed.
    """
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    if verbose_requested():
        if _USER_TF_LOG_LEVEL is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    else:
        filter_native_logs()


# ----- train ---------------------------------------------------------------------------------------
def _resume(option: str, text: str) -> str:
    """An option's help with what --resume does with it (img2img.resume holds the rules)."""
    from img2img.resume import resume_note

    return f"{text} {resume_note(option)}"


@cli.command()
@click.argument("model")
@click.option("--data", help=_resume("data", "Training images: a folder (recursive), tfds:NAME[/CONFIG][:SPLIT], "
                                             "or scheme:..."))
@click.option("--data-b", help=_resume("data_b", "Second domain, for two-domain models."))
@click.option("--loss", help=_resume("loss", "Adversarial loss (default: the model's own). See 'img2img models'."))
@click.option("--penalty", "penalties", multiple=True, metavar="NAME[:WEIGHT]",
              help=_resume("penalties", "Critic penalty; repeatable."))
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help=_resume("settings", "Model or trainer option, e.g. --set filters=32 --set lr=1e-4; repeatable."))
@click.option("--steps", type=click.IntRange(min=1),
              help=_resume("steps", "Train until this many generator steps in total."))
@click.option("--epochs", type=click.IntRange(min=1), help=_resume("epochs", "Train this many epochs (default 10)."))
@click.option("--steps-per-epoch", type=click.IntRange(min=1),
              help=_resume("steps_per_epoch", "Default: one pass over the data."))
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help=_resume("batch_size", "Images per step, over all devices."))
@click.option("--image-size", type=click.IntRange(min=1), help=_resume("image_size", "Square training size in pixels."))
@click.option("--out", type=click.Path(path_type=Path), help="Run directory (default runs/MODEL-TIME).")
@click.option("--resume", is_flag=True, help="Continue the run in --out where it stopped; with no run there yet, "
              "start it (so one command serves the first start and every restart). Options given again with "
              "their stored values are accepted; a value that would change the run is refused by name.")
@click.option("--seed", type=int, default=0, show_default=True, help=_resume("seed", "Same seed, same first steps."))
@click.option("--precision", type=click.Choice(["auto", "float32", "mixed"]), default="auto", show_default=True,
              help=_resume("precision", "mixed: float16 on a GPU, bfloat16 on a CPU; auto: mixed where the "
                           "hardware is faster at it (tensor cores, AMX or AVX-512 BF16), else float32. Weights "
                           "stay float32."))
@click.option("--strategy", type=click.Choice(STRATEGIES), default="auto",
              show_default=True,
              help=_resume("strategy", "Devices to train on: mirrored copies the model on every GPU and splits "
                           "each batch between them (--batch-size stays the global batch); auto = mirrored with "
                           "several GPUs, else one device; multi-worker: every machine TF_CONFIG names "
                           "(docs/training.md), run with the same command on each."))
@click.option("--text-encoder", help=_resume("text_encoder", "Text-conditioned models: encoder of the captions "
              "(default: the model's own; see 'img2img models')."))
@click.option("--warm-start", type=click.Path(path_type=Path), metavar="RUN",
              help=_resume("warm_start", "Start a new run from RUN's newest checkpoint: its weights, and its "
                           "optimisers' state where it fits; for what --resume refuses (a new lr, loss, ...)."))
@friendly_errors
def train(model: str, steps: int | None, epochs: int | None, penalties: tuple[str, ...],
          settings: tuple[str, ...], **options: Any) -> None:
    """Train MODEL; everything lands in a run directory you can resume."""
    if steps is not None and epochs is not None:
        raise click.UsageError("give --steps or --epochs, not both")
    from img2img.startup import pause_collection, resume_collection

    context = click.get_current_context()
    explicit = frozenset(name for name in context.params
                         if context.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT,
                                                                       click.core.ParameterSource.DEFAULT_MAP))
    pause_collection()  # until the first step has run (the trainer resumes it then)
    try:
        from img2img.training.trainer import Trainer, TrainRequest

        request = TrainRequest(model=model, steps=steps, epochs=epochs, penalties=list(penalties),
                               settings=list(settings), explicit=explicit, **options)
        plugins = get_plugins()
        if model not in plugins.models and (stored := _run_model_name(Path(model))):
            raise Img2ImgError(f"{model} is a run directory, not a model; to continue that run: img2img train "
                               f"{stored} --out {model} --resume")
        plugins.models.get(model)  # an unknown model fails before TensorFlow loads
        result = Trainer(request, plugins, echo_err).run()
    finally:
        resume_collection()
    click.echo(f"Trained to step {result.step} in {result.seconds:.1f} s; run directory: {result.run.path}")


def _run_model_name(path: Path) -> str | None:
    """The model a run directory at ``path`` trains, if it is one: ``img2img train --resume runs/x`` is an
    easy slip for ``img2img train MODEL --out runs/x --resume``."""
    from img2img.runs import CONFIG, read_json

    try:
        name = read_json(path / CONFIG)["model"]["name"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return name if isinstance(name, str) else None


# ----- generate ------------------------------------------------------------------------------------
@cli.command()
@click.option("--model", "model_path", required=True, type=click.Path(path_type=Path),
              help="A run directory from 'img2img train', or a shipped model's name ('img2img models').")
@click.option("--count", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--label", help="Class to generate (conditional models).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("generated"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing files of the same names in --out.")
@friendly_errors
def generate(model_path: Path, count: int, label: str | None, out: Path, seed: int, overwrite: bool) -> None:
    """Sample COUNT images from a trained model's latent space into --out as PNG files
    (vector models such as toy-mlp write samples.csv, one row per sample)."""
    from img2img.generate import generate_images

    written = generate_images(resolve_model(model_path), count, out, seed=seed, label=label, overwrite=overwrite,
                              plugins=get_plugins())
    click.echo(f"Wrote {', '.join(p.name for p in written[:1])}{' ...' if len(written) > 1 else ''} "
               f"({count} samples) to {out}")


# ----- translate -----------------------------------------------------------------------------------
@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path, readable=False))  # ours: exit 1, named
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="A run directory or the name of a shipped model: an image-to-image model, or a text-to-image "
              "one for --prompt. Default for images: the shipped default model (see 'img2img models').")
@click.option("--direction", help="a2b (--data -> --data-b) or b2a; default: the run's first (a2b for "
              "cyclegan, the trained one for pix2pix).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("translated"), show_default=True,
              help="Output folder; never an input folder.")
@click.option("--size", type=click.IntRange(min=8), help="Scale each image's shorter side to this many pixels "
              "first (default: translate at the image's own size).")
@click.option("--format", "output_format", type=click.Choice(["png", "same"]), default="png", show_default=True,
              help="png: lossless PNG named after the input's stem; same: keep each input's extension.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Consecutive images of the same size translated together.")
@click.option("--prompt", "prompts", multiple=True, metavar="TEXT",
              help="Draw images of this text (text-to-image models); repeatable.")
@click.option("--prompts", "prompts_file", type=click.Path(path_type=Path), metavar="FILE",
              help="A text file of prompts, one per line.")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Images per prompt, each from its own latent vector.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Prompts and --train-mode: same seed, same images.")
@click.option("--train-mode", is_flag=True, help="Run the network as in training (batch norm on each batch's "
              "statistics, dropout on), as the pix2pix reference does without --eval; outputs then depend on "
              "--batch-size and --seed.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@click.option("--html", "write_html", is_flag=True, help="Also write OUT/index.html, each input beside its output "
              "(inputs as small copies in OUT/index-inputs/): open it in a browser.")
@click.option("--max-megapixels", type=click.FloatRange(min=0.001), default=40.0, show_default=True,
              help="Refuse (by name, before decoding) images whose header declares more pixels than this; the "
              "other files still convert.")
@friendly_errors
def translate(inputs: tuple[Path, ...], model_path: Path, direction: str | None, out: Path, size: int | None,
              output_format: str, batch_size: int, prompts: tuple[str, ...], prompts_file: Path | None,
              count: int, seed: int, train_mode: bool, overwrite: bool, write_html: bool,
              max_megapixels: float) -> None:
    """Translate image files and folders (searched recursively) into --out, or draw text prompts.

    Outputs keep each file's path relative to its input folder and its stem. Images are translated at
    their own size (mirror-padded to what the network needs, then cropped back) unless --size is given.
    Grey, RGBA (on white), palette, 16-bit and EXIF-rotated files are read right-side up.

    With --prompt TEXT (repeatable) or --prompts FILE and a text-to-image run, writes --count images per
    prompt named NNNN-words-of-the-prompt.png (NNNN: the prompt's position, from 0001).

    Exit status: 0 when at least one image was converted (files skipped are named in a warning: unreadable,
    too large, FIFOs and devices, symbolic link loops, folders that cannot be read); 1 when nothing could be
    converted or an option is wrong; 130 when interrupted, 143 when terminated (finished outputs are kept,
    none is half-written).
    """
    if prompts or prompts_file:
        if inputs:
            raise click.UsageError("give image INPUTs or --prompt/--prompts, not both")
        from img2img.prompts import draw_prompts, read_prompts

        if model_path is None:
            raise Img2ImgError("--prompt/--prompts need --model RUN: a run of a text-conditioned model "
                               "('img2img models' lists them); the shipped default model translates images")
        texts = read_prompts(list(prompts), prompts_file)
        written = draw_prompts(resolve_model(model_path), texts, count, out, seed=seed, overwrite=overwrite,
                               plugins=get_plugins())
        click.echo(f"Drew {len(written)} image(s) for {len(texts)} prompt(s) into {out}")
        return
    if not inputs:
        raise click.UsageError("give image files or folders to translate, or --prompt TEXT / --prompts FILE")
    from img2img.locking import FolderLock
    from img2img.translate import Translator, translate_files
    from img2img.translate_inputs import collect_jobs, describe_skipped, refuse_overwrites

    skipped: list[tuple[Path, str]] = []
    jobs = collect_jobs(list(inputs), out, output_format, skipped)
    with FolderLock(out, "translate"):  # a second translate into the same --out is refused, not interleaved
        if not overwrite:
            refuse_overwrites(jobs, page=out / "index.html" if write_html else None)
        model_folder = resolve_model(model_path)
        translator = Translator(model_folder, direction, get_plugins(), train_mode=train_mode, seed=seed)
        shipped = announce_shipped(model_folder, given=model_path is not None)
        if shipped:
            echo_err(shipped)
        echo_err(f"Translating {len(jobs)} image(s) with {translator.description} into {out}")
        with click.progressbar(length=len(jobs), label="Translating", file=sys.stderr) as bar:
            result = translate_files(jobs, translator, size=size, batch_size=batch_size, progress=bar.update,
                                     max_pixels=int(max_megapixels * 1e6))
    skipped += result.skipped
    if skipped:
        echo_err(f"img2img: warning: {len(skipped)} input(s) skipped: {describe_skipped(skipped)}")
    if not result.converted:
        raise Img2ImgError(f"none of the {len(jobs)} input file(s) could be read; nothing was written")
    if write_html:
        from img2img.pages import write_translate_page

        sources = {job.output: job.source for job in jobs}
        page = write_translate_page(out, [(sources[o], o) for o in result.converted], translator.description)
        echo_err(f"Page: {page} (open it in a browser)")
    rate = len(result.converted) / result.seconds if result.seconds else 0.0
    click.echo(f"Translated {len(result.converted)} of {len(jobs)} image(s) into {out} "
               f"in {result.seconds:.1f} s ({rate:.1f} images/s)")


# ----- divergence ----------------------------------------------------------------------------------
@cli.command()
@click.argument("source_p")
@click.argument("source_q")
@click.option("--loss", default="kl", show_default=True, help="An f-divergence (see 'img2img models').")
@click.option("--steps", type=click.IntRange(min=1), default=3000, show_default=True, help="Critic updates.")
@click.option("--batch-size", type=click.IntRange(min=2), default=512, show_default=True)
@click.option("--image-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Images are compared at this square size.")
@click.option("--holdout", type=click.FloatRange(0.01, 0.9), default=0.2, show_default=True,
              help="Share of each finite data set kept apart for the estimate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--strategy", type=click.Choice(STRATEGIES), default="auto", show_default=True,
              help="Devices the critic trains on, as for 'img2img train' (--batch-size is the global batch).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def divergence(source_p: str, source_q: str, loss: str, steps: int, batch_size: int, image_size: int,
               holdout: float, seed: int, strategy: str, as_json: bool) -> None:
    """Estimate D_f(P||Q) between two sample sets by training only a critic (f-GAN's lower bound).

    SOURCE_P and SOURCE_Q are image folders, tfds:NAME, or toy distributions such as
    toy:gauss:mean=0,std=1. The estimate is evaluated on held-out samples, with a 95 % band.
    """
    from img2img.divergence import estimate_divergence

    result = estimate_divergence(source_p, source_q, loss, get_plugins(), steps=steps, batch_size=batch_size,
                                 image_size=image_size, seed=seed, holdout=holdout, strategy=strategy)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"D_{result.loss}(P || Q) = {result.estimate:.4f} +- {result.half_width:.4f} "
               f"(95 % band, {result.held_out} held-out samples each; critic trained {result.steps} steps"
               f"{f' on {result.replicas} replicas' if result.replicas > 1 else ''})")


# ----- evaluate (img2img.cli_evaluate), listing and plugin management (img2img.cli_plugins) -------------
for _command in (evaluate, models, plugins, install, uninstall):
    cli.add_command(_command)


def _add_plugin_commands() -> None:
    manager = get_plugins()
    for plugin_name, impl in manager.hook_impls("register_commands"):
        manager.call_isolated(plugin_name, "register_commands", impl, cli=cli)


_add_plugin_commands()


def main() -> None:
    cli(prog_name="img2img")
