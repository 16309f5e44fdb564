"""``img2img modes RUN``: how many modes of its toy mixture a run's generator covers, by the published
definitions (PacGAN's) and by our earlier table's rule, from freshly drawn samples."""

from __future__ import annotations

import json
from pathlib import Path

import click

from img2img import friendly_errors

SAMPLES = 2500  # VEEGAN and PacGAN score 2,500 samples


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--samples", type=click.IntRange(min=1), default=SAMPLES, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent vectors.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly_errors
def modes(run_dir: Path, samples: int, seed: int, as_json: bool) -> None:
    """Mode coverage of RUN_DIR, a run trained on a toy mixture (--data toy:ring8 or toy:grid25).

    Published definitions (VEEGAN, PacGAN): a sample is high quality within 3 sigma of its nearest mode; a
    mode is covered when it is the nearest mode of one high-quality sample or more; reverse KL of the
    high-quality samples' mode histogram against the uniform one.
    """
    import numpy as np

    from img2img import Img2ImgError
    from img2img.runs import RunDirectory, load_generator
    from img2img_plugins.toy.distributions import mixture_for

    run = RunDirectory.open(run_dir, option="RUN_DIR")
    config = run.read_config()
    source = str(config["data"]["source"])
    if not source.startswith("toy:"):
        raise Img2ImgError(f"{run_dir} was trained on {source}, not on a toy mixture (toy:ring8, toy:grid25)")
    mixture = mixture_for(source[len("toy:"):])
    generator = load_generator(run)
    z = np.random.default_rng(seed).standard_normal((samples, int(generator.inputs[0].shape[-1])))
    drawn = np.asarray(generator(z.astype(np.float32), training=False))
    published, ours = mixture.pacgan_scores(drawn), mixture.coverage(drawn)
    if as_json:
        click.echo(json.dumps({"data": source, "samples": samples, "published": published, "own_rule": ours},
                              indent=2))
        return
    click.echo(f"{source}, {samples} samples: {published['modes']} of {published['total_modes']} modes covered, "
               f"{published['high_quality']:.1f} % high quality, reverse KL {published['reverse_kl']:.3f} "
               f"(VEEGAN/PacGAN definitions); {ours['modes']} modes by our earlier rule (a fifth of a fair share)")
