"""``img2img translate --prompt``: images from text with a text-conditioned run.

Each prompt is embedded by the encoder the run was trained with (checked by name and dimension), then drawn
with ``--count`` latent vectors. Files are named ``NNNN-slug.png`` (``NNNN-slug-K.png`` for several per
prompt), NNNN being the prompt's 1-based position, so prompts that differ only in punctuation never collide.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from img2img.errors import Img2ImgError
from img2img.locking import FolderLock
from img2img.plugins import PluginManager
from img2img.runs import RunDirectory

SLUG_LENGTH = 48


def read_prompts(prompts: list[str], prompts_file: Path | None) -> list[str]:
    """--prompt texts, then the non-empty lines of --prompts FILE, in order."""
    texts = [p.strip() for p in prompts]
    if any(not t for t in texts):
        raise Img2ImgError("--prompt: a prompt is empty; give some text")
    if prompts_file is not None:
        try:
            lines = prompts_file.expanduser().read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise Img2ImgError(f"--prompts {prompts_file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise Img2ImgError(f"--prompts {prompts_file}: cannot read it as UTF-8 text ({exc})") from None
        from_file = [line.strip() for line in lines if line.strip()]
        if not from_file:
            raise Img2ImgError(f"--prompts {prompts_file}: has no prompts (one per line)")
        texts += from_file
    if not texts:
        raise Img2ImgError("give --prompt TEXT (repeatable) or --prompts FILE")
    return texts


def slug(text: str) -> str:
    """Lower-case words joined by '-', at most SLUG_LENGTH characters, safe in any file system."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    cut = words[:SLUG_LENGTH].rstrip("-")
    return cut or "prompt"


def prompt_paths(prompts: list[str], count: int, out: Path) -> list[list[Path]]:
    return [[out / (f"{i:04d}-{slug(text)}" + (f"-{k + 1}" if count > 1 else "") + ".png") for k in range(count)]
            for i, text in enumerate(prompts, start=1)]


def draw_prompts(model: Path, prompts: list[str], count: int, out: Path, *, seed: int, overwrite: bool,
                 plugins: PluginManager) -> list[Path]:
    """Write ``count`` images per prompt into ``out``; returns the files written."""
    from img2img.runs import latent_vectors, load_generator, run_model_class
    from img2img.samples import refuse_existing, write_images
    from img2img.text_encoding import encode_texts, run_text_encoder

    run = RunDirectory.open(model, option="--model")
    config = run.read_config()
    model_cls = run_model_class(run, config, plugins)
    if not model_cls.text_conditional:
        raise Img2ImgError(f"--model {model}: model {model_cls.name!r} is not text-conditioned, so it cannot draw "
                           "prompts; train a text model (e.g. 'img2img models' lists them) on captioned images")
    flat = [p for group in prompt_paths(prompts, count, out) for p in group]
    with FolderLock(out, "translate"):  # as translate's image path does: one process per --out
        if not overwrite:
            refuse_existing(flat, out)
        embeddings = encode_texts(run_text_encoder(config, plugins), prompts)
        generator = load_generator(run)
        write_images(generator, model_cls, latent_vectors(config, len(flat), seed),
                     np.repeat(embeddings, count, axis=0), flat)
    return flat
