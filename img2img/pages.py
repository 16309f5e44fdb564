"""Pages to look at results in a browser: a run directory's ``index.html`` and ``translate --html``'s.

Each page is one self-contained file: links relative to its folder (a copied or moved folder still works),
the loss plot drawn inline as SVG, a content-security policy that lets it load nothing from the network, and
every file name, caption and option value escaped (a file named ``<img onerror=...>.png`` shows as text).
A small inline script marks any image that fails to load, so a broken link is visible on the page (and a
test can count them in a headless browser).
"""

from __future__ import annotations

import csv
import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from img2img.atomic import replacing, write_bytes_atomic

INDEX = "index.html"
THUMBNAILS = "index-inputs"  # translate --html: small copies of the inputs, so the page travels with --out
THUMBNAIL_SIDE = 256

STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; } td, th { padding: 4px 8px; vertical-align: top; text-align: left; }
tr + tr td { border-top: 1px solid #ddd; } img { max-width: 100%; image-rendering: pixelated; }
.pair img { max-width: 45vw; } .meta { color: #555; } .missing { color: #b00; font-weight: bold; }
svg text { font: 11px system-ui, sans-serif; }
"""

# Marks images that did not load (and counts them on <html data-images data-broken>).
CHECK_IMAGES = """
addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter((image) => !(image.complete && image.naturalWidth > 0));
  for (const image of broken) {
    const note = document.createElement("span");
    note.className = "missing";
    note.textContent = " missing: " + image.getAttribute("src");
    image.after(note);
  }
  document.documentElement.dataset.images = String(images.length);
  document.documentElement.dataset.broken = String(broken.length);
});
"""


def _page(title: str, body: str) -> str:
    policy = "default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n"
            f"<script>{CHECK_IMAGES}</script>\n</body></html>\n")


def _link(target: Path, folder: Path) -> str:
    """A relative, percent-encoded URL from ``folder`` to ``target``."""
    return quote(Path(os.path.relpath(target, folder)).as_posix())


def _image(target: Path, folder: Path, alt: str) -> str:
    return f'<img src="{_link(target, folder)}" alt="{html.escape(alt, quote=True)}" loading="lazy">'


def write_page(path: Path, text: str) -> Path:
    write_bytes_atomic(path, text.encode("utf-8"))
    return path


# ----- a run directory ---------------------------------------------------------------------------
def read_metrics(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                rows.append({k: float(v) for k, v in row.items() if k and v not in (None, "")})
            except ValueError:  # a half-written row of a killed run: the page shows the rest
                continue
    return rows


def loss_plot(rows: Sequence[dict[str, float]], width: int = 640, height: int = 70) -> str:
    """One small SVG line chart per logged quantity over the epochs, each on its own scale (they differ by
    orders of magnitude), with its first, last, lowest and highest value written beside it."""
    keys = sorted({k for row in rows for k in row if k != "epoch"})
    if not rows or not keys:
        return "<p class=meta>No epoch has finished yet.</p>"
    charts = []
    for key in keys:
        points = [(row.get("epoch", i), row[key]) for i, row in enumerate(rows) if key in row
                  and math.isfinite(row[key])]
        if not points:
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        line = " ".join(f"{_scale(x, x0, x1, 10, width - 10):.1f},{_scale(y, y0, y1, height - 8, 8):.1f}"
                        for x, y in points)
        label = html.escape(f"{key}: first {ys[0]:.4g}, last {ys[-1]:.4g}, min {y0:.4g}, max {y1:.4g}")
        charts.append(f'<div class=meta>{label}</div><svg width="{width}" height="{height}" role="img" '
                      f'aria-label="{label}"><rect width="{width}" height="{height}" fill="#fafafa" stroke="#ddd"/>'
                      f'<polyline points="{line}" fill="none" stroke="#1a5fb4" stroke-width="1.5"/></svg>')
    return "\n".join(charts)


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    """``value`` in [low, high] mapped onto [start, end]; the middle when the range is empty."""
    share = (value - low) / (high - low) if high > low else 0.5
    return start + (end - start) * share


def run_page(run_path: Path, config: dict) -> str:
    """Every epoch's sample grid (its rows and columns are labelled in the picture), newest first, and the
    logged losses over the epochs."""
    run_path = Path(run_path).resolve()
    samples = sorted((run_path / "samples").glob("epoch-*.png"), reverse=True)
    rows = read_metrics(run_path / "metrics.csv")
    by_epoch = {int(row["epoch"]) + 1: row for row in rows if "epoch" in row}
    model = config.get("model", {}).get("name", "?")
    loss = config.get("loss", {}).get("name", "?")
    data = config.get("data", {})
    sources = ", ".join(str(data[k]) for k in ("source", "source_b") if data.get(k))
    meta = (f"model {model}, loss {loss}, {config.get('image_size', '?')} px, data {sources}; "
            f"{len(samples)} epoch(s) of samples")
    entries = []
    for path in samples:
        epoch = int(path.stem.split("-")[-1])
        logged = by_epoch.get(epoch, {})
        figures = ", ".join(f"{k} {v:.4g}" for k, v in sorted(logged.items()) if k != "epoch")
        entries.append(f"<tr><td><b>epoch {epoch}</b><br><span class=meta>{html.escape(figures)}</span></td>"
                       f"<td>{_image(path, run_path, f'samples of epoch {epoch}')}</td></tr>")
    body = (f"<h1>{html.escape(run_path.resolve().name)}</h1>\n<p class=meta>{html.escape(meta)}</p>\n"
            f"<h2>Losses per epoch</h2>\n{loss_plot(rows)}\n<h2>Samples</h2>\n"
            f"<table>{''.join(entries) or '<tr><td>No samples yet.</td></tr>'}</table>")
    return _page(f"img2img run {run_path.resolve().name}", body)


def write_run_page(run_path: Path, config: dict) -> Path:
    return write_page(run_path / INDEX, run_page(run_path, config))


# ----- translate --html --------------------------------------------------------------------------
def thumbnail(source: Path, target: Path) -> None:
    """A PNG copy of ``source`` no larger than THUMBNAIL_SIDE, upright (EXIF) and in RGB."""
    from PIL import Image, ImageOps

    with Image.open(source) as image:
        small = ImageOps.exif_transpose(image).convert("RGB")
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        target.parent.mkdir(parents=True, exist_ok=True)
        with replacing(target) as tmp:
            small.save(tmp, format="PNG")


def translate_page(out: Path, pairs: Sequence[tuple[Path, Path]], description: str) -> str:
    """Input and output side by side for each (input thumbnail, output) pair, both inside ``out``."""
    rows = []
    for thumb, output in pairs:
        name = output.relative_to(out).as_posix()
        rows.append(f'<tr class=pair><td>{html.escape(name)}</td><td>{_image(thumb, out, "input " + name)}</td>'
                    f'<td>{_image(output, out, "output " + name)}</td></tr>')
    body = (f"<h1>Translated images</h1>\n<p class=meta>{html.escape(description)}; {len(pairs)} image(s)</p>\n"
            f"<table><tr><th>file</th><th>input</th><th>output</th></tr>{''.join(rows)}</table>")
    return _page("img2img translate", body)


def write_translate_page(out: Path, done: Sequence[tuple[Path, Path]], description: str) -> Path:
    """``done``: (input file, output file) of every converted image. Inputs get thumbnails under ``out``."""
    out = Path(out).resolve()
    pairs = []
    for source, output in done:
        output = Path(output).resolve()
        thumb = (out / THUMBNAILS / output.relative_to(out)).with_suffix(".png")
        thumbnail(source, thumb)
        pairs.append((thumb, output))
    return write_page(out / INDEX, translate_page(out, pairs, description))
