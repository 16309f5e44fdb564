"""``img2img interpolate RUN A B``: walk from one image to another through a VAE-GAN run's latent space, the
paper's image-editing use. Each image is encoded to the mean of q(z | x), the means are mixed linearly, and
every mixture is decoded; the frames are written as one strip (and, with --frames, one file each)."""

from __future__ import annotations

from pathlib import Path

import click

from img2img import friendly_errors


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("first", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("second", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="The strip's file (PNG unless the name says .jpg); with --frames, a folder of one file per frame.")
@click.option("--steps", type=click.IntRange(min=2), default=8, show_default=True,
              help="Frames, both ends included (the ends are the two images' reconstructions).")
@click.option("--frames", is_flag=True, help="Write each frame as OUT/NN.png instead of one strip.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@friendly_errors
def interpolate(run_dir: Path, first: Path, second: Path, out: Path, steps: int, frames: bool,
                overwrite: bool) -> None:
    """Decode STEPS images on the straight line between FIRST's and SECOND's codes in RUN_DIR's latent space.

    RUN_DIR is a run of a model with an encoder (vaegan). Both images are resized to the run's image size,
    as the encoder takes only that size.
    """
    import numpy as np

    from img2img import Img2ImgError
    from img2img.data.images import UnreadableImage, from_unit_range, load_image, to_unit_range
    from img2img.render import image_grid
    from img2img.runs import RunDirectory, load_generator
    from img2img.translate import resize_to, save_image

    run = RunDirectory.open(run_dir, option="RUN_DIR")
    config = run.read_config()
    if not run.network_path("encoder").is_file() and run.network_path("generator").is_file():
        raise Img2ImgError(f"{run_dir}: its model ({config.get('model')}) has no encoder to place images in its "
                           "latent space; interpolate needs a vaegan run")
    encoder, decoder = load_generator(run, "encoder"), load_generator(run, "generator")
    size, channels = int(config["image_size"]), int(config["channels"])
    targets = [out / f"{i:02d}.png" for i in range(steps)] if frames else [out]
    if frames and out.exists() and not out.is_dir():
        raise Img2ImgError(f"--out {out}: with --frames, give a folder (this is a file)")
    if not frames and out.is_dir():
        raise Img2ImgError(f"--out {out} is a folder; give a file name such as strip.png (or add --frames)")
    for path in (first, second):
        if path.resolve() in {t.resolve() for t in targets}:
            raise Img2ImgError(f"--out would overwrite the input {path}; choose another --out")
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise Img2ImgError(f"{existing[0]} exists; pass --overwrite to replace it, or choose another --out")

    def read(path: Path) -> np.ndarray:
        try:
            pixels = load_image(path, channels)
        except UnreadableImage as exc:
            raise Img2ImgError(f"{path}: {exc.reason}") from None
        return to_unit_range(resize_to(pixels, size, size))

    images = np.stack([read(first), read(second)])
    means = np.asarray(encoder(images, training=False)[0])
    weights = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    decoded = np.asarray(decoder((1 - weights) * means[0] + weights * means[1], training=False))
    click.echo(f"{steps} frames from {first} to {second} at {size}x{size} px (the run's size; "
               "inputs were resized to it)", err=True)
    if frames:
        for frame, target in zip(decoded, targets, strict=True):
            save_image(from_unit_range(frame), target)
        click.echo(f"Wrote {steps} frames into {out}")
        return
    strip = image_grid(decoded, columns=steps)
    save_image(strip, out)
    click.echo(f"Wrote {out}")
