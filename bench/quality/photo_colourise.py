"""photo-colourise: a pix2pix grey -> colour model trained on real photographs, scored on held-out ones.

Training photographs come from the Debian package ``lomiri-wallpapers-16.04`` and scikit-learn's two sample
photos, and only those whose licence lets anyone redistribute a model trained on them (CC0, CC-BY: each is
named with its author and licence in ``TRAINING`` and in the model card). Each is shown at several scales
(its short side 256 to 768 px, the scale of photos people translate) and cut into random crops; the pair is
the crop's luma (what Pillow's ``convert("L")`` gives) and the crop itself. The model greys its own input
(``--set grey_input=true``), so colour and grey photos translate alike.

Scoring uses other photographs, never trained on and never shipped (``HELD_OUT``: mate-backgrounds and the
CC-BY-SA photos of lomiri-wallpapers-16.04): 256 px crops of each at a short side of 512 px, grey in,
compared with their colour: PSNR, SSIM, colourfulness (Hasler and Suesstrunk 2003: 0 for grey) and FID/KID
on the FID Inception network, for the grey input unchanged and for the model. Training runs in resumable
pieces: run the same command again after an interruption and it continues.

    apt-get install lomiri-wallpapers-16.04 mate-backgrounds
    python -m bench.quality.photo_colourise --steps 6000 --work bench-work/photo-colourise \\
        --out bench/results/photo-colourise --ship photo-colourise
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from bench.harness import REPO, add_seconds, cpu_description, trained_steps

LOMIRI = Path("/usr/share/backgrounds")
MATE = Path("/usr/share/backgrounds/mate/nature")
SIZE = 128  # training crops; the U-Net is then 7 deep and translates any multiple of 128 px
LOAD = 143  # crops are cut at 128 x 286/256 px, as pix2pix loads before its random 128 px crop
SCALES = (256, 384, 512, 768)  # short side of the photo the crops are cut from
CROPS_PER_SCALE = 100
SCORE_SIDE, SCORE_CROP, SCORE_CROPS = 512, 256, 8

# (file, author, licence, where it installs from): the photographs the shipped model learnt from.
TRAINING = [
    (LOMIRI / "Picture_0B_by_freespace.jpg", 'Trevor "Freespace", 2018', "CC-BY-4.0", "lomiri-wallpapers-16.04"),
    (LOMIRI / "Picture_1A_by_freespace.jpg", 'Trevor "Freespace", 2018', "CC-BY-4.0", "lomiri-wallpapers-16.04"),
    (LOMIRI / "Wine_by_Jakkub_Mede.jpg", "Jakub Mede, 2018", "CC-BY-4.0", "lomiri-wallpapers-16.04"),
    (LOMIRI / "aitzgorri_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0",
     "lomiri-wallpapers-16.04"),
    (LOMIRI / "friends_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0", "lomiri-wallpapers-16.04"),
    (LOMIRI / "life_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0", "lomiri-wallpapers-16.04"),
    (LOMIRI / "picosdeeuropa_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0",
     "lomiri-wallpapers-16.04"),
    (LOMIRI / "seeding_by_Clements_Engelhardt.jpg", "Clemens Engelhardt, 2018", "CC0-1.0", "lomiri-wallpapers-16.04"),
    (LOMIRI / "sunset_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi, 2018", "CC-BY-4.0", "lomiri-wallpapers-16.04"),
    ("sklearn:china.jpg", "danielbuechele (Flickr)", "CC-BY-2.0", "scikit-learn"),
    ("sklearn:flower.jpg", "vultilion (Flickr)", "CC-BY-2.0", "scikit-learn"),
]
# Scoring only: read, never trained on, never redistributed (their licences, GPL-2+ and CC-BY-SA, would bind
# a model trained on them).
HELD_OUT = [MATE / name for name in ("Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg",
                                     "GreenMeadow.jpg", "LadyBird.jpg", "RainDrops.jpg", "Storm.jpg",
                                     "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg")]
HELD_OUT += [LOMIRI / name for name in ("Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg",
                                        "free_by_Peter_Nerlich.jpg",
                                        "greentock_by_Peter_Nerlich.jpg")]


def open_photo(source: Path | str):
    from PIL import Image

    if str(source).startswith("sklearn:"):
        import sklearn.datasets

        images = Path(sklearn.datasets.__file__).parent / "images"
        return Image.open(images / str(source).split(":", 1)[1]).convert("RGB")
    if not Path(source).is_file():
        raise SystemExit(f"{source}: missing; install the photographs with "
                         "'apt-get install lomiri-wallpapers-16.04 mate-backgrounds'")
    return Image.open(source).convert("RGB")


def at_short_side(photo, side: int):
    from PIL import Image

    scale = side / min(photo.size)
    return photo.resize((max(side, round(photo.width * scale)), max(side, round(photo.height * scale))),
                        Image.LANCZOS)


def grey(photo):
    return photo.convert("L").convert("RGB")


def write_pairs(folder: Path, seed: int) -> int:
    """Side-by-side grey|colour crops of every training photo at every scale (the reference's A|B format)."""
    from PIL import Image

    done = folder / "done.txt"
    if done.is_file():
        return int(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    count = 0
    for index, (source, *_rest) in enumerate(TRAINING):
        photo = open_photo(source)
        for side in SCALES:
            if side > min(photo.size):
                continue  # never upscale: the crops would be blurrier than any photo
            scaled = at_short_side(photo, side)
            for _ in range(CROPS_PER_SCALE):
                left = int(rng.integers(0, scaled.width - LOAD + 1))
                top = int(rng.integers(0, scaled.height - LOAD + 1))
                crop = scaled.crop((left, top, left + LOAD, top + LOAD))
                pair = Image.new("RGB", (2 * LOAD, LOAD))
                pair.paste(grey(crop), (0, 0))
                pair.paste(crop, (LOAD, 0))
                pair.save(folder / f"{index:02d}-{side}-{count:05d}.png")
                count += 1
    done.write_text(str(count))
    return count


def write_scoring(work: Path, seed: int) -> tuple[Path, Path]:
    """Grey inputs and colour answers, same names: crops of the held-out photos, and the photos whole."""
    grey_dir, colour_dir = work / "score" / "grey", work / "score" / "colour"
    if (work / "score" / "done.txt").is_file():
        return grey_dir, colour_dir
    grey_dir.mkdir(parents=True, exist_ok=True)
    colour_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    for path in HELD_OUT:
        scaled = at_short_side(open_photo(path), SCORE_SIDE)
        for i in range(SCORE_CROPS):
            left = int(rng.integers(0, scaled.width - SCORE_CROP + 1))
            top = int(rng.integers(0, scaled.height - SCORE_CROP + 1))
            crop = scaled.crop((left, top, left + SCORE_CROP, top + SCORE_CROP))
            crop.save(colour_dir / f"{path.stem}-{i}.png")
            grey(crop).save(grey_dir / f"{path.stem}-{i}.png")
    (work / "score" / "done.txt").write_text("ok")
    return grey_dir, colour_dir


def colourfulness(image: np.ndarray) -> float:
    """Hasler and Suesstrunk (2003), on [0, 255] RGB: 0 for grey, ~15 'slightly', ~33 'moderately',
    ~45 'averagely' colourful."""
    r, g, b = (image[..., i] * 255.0 for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def score(outputs: Path, colour: Path, names: list[str], features) -> dict[str, float]:
    from img2img.evaluate import load_rgb, pixel_scores
    from img2img.metrics import frechet_distance, kernel_inception_distance

    truth = [load_rgb(colour / name) for name in names]
    made = [load_rgb(outputs / name) for name in names]
    l1, psnr, ssim = pixel_scores(list(zip(made, truth, strict=True)))
    fx, fy = features(made), features(truth)
    kid = kernel_inception_distance(fx, fy, subsets=100, subset_size=len(names) // 2)
    return {"l1": l1, "psnr": psnr, "ssim": ssim, "fid": frechet_distance(fx, fy), "kid": kid.mean,
            "kid_std": kid.std, "colourfulness": float(np.mean([colourfulness(m) for m in made])),
            "truth_colourfulness": float(np.mean([colourfulness(t) for t in truth]))}


def train(args: argparse.Namespace, pairs: Path, run: Path) -> float:
    """Train (or continue) to ``--steps``; returns the training seconds summed over all pieces."""
    epochs = args.steps // args.steps_per_epoch
    command = [sys.executable, "-m", "img2img", "train", "pix2pix", "--data", str(pairs), "--image-size", str(SIZE),
               "--batch-size", str(args.batch_size), "--steps", str(args.steps),
               "--steps-per-epoch", str(args.steps_per_epoch), "--seed", str(args.seed),
               "--set", f"filters={args.filters}", "--set", f"d_filters={args.filters}", "--set", "grey_input=true",
               "--set", "upsampling=resize", "--set", f"lr_constant_epochs={epochs // 2}",
               "--set", f"lr_decay_epochs={epochs - epochs // 2}", "--out", str(run)]
    if (run / "config.json").exists():  # an interrupted run continues as it was configured
        command = [*command[:4], "--out", str(run), "--steps", str(args.steps), "--resume"]
    spent = run.parent / "train_seconds.txt"
    if trained_steps(run) < args.steps:
        print(" ".join(command[2:]), flush=True)
        add_seconds(spent, lambda: subprocess.run(command, check=True))
    return float(spent.read_text()) if spent.is_file() else float("nan")


def strip(rows: list[list[Path]], path: Path) -> None:
    """Rows of images (grey input, ours, truth) side by side, each 160 px high."""
    from PIL import Image

    tiles = [[Image.open(p).convert("RGB").resize((160, 160)) for p in row] for row in rows]
    canvas = Image.new("RGB", (160 * len(tiles[0]), 160 * len(tiles)), "white")
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            canvas.paste(tile, (160 * c, 160 * r))
    canvas.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--steps-per-epoch", type=int, default=250)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--filters", type=int, default=24, help="ngf and ndf; 24 keeps the generator at 16 MiB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("bench-work/photo-colourise"))
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "photo-colourise")
    parser.add_argument("--ship", metavar="NAME", help="also write the generator and its model card to models/NAME")
    parser.add_argument("--prepare-only", action="store_true", help="write the pairs and the scoring set, then stop")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    pairs = args.work / "pairs"
    count = write_pairs(pairs, args.seed)
    grey_dir, colour_dir = write_scoring(args.work, args.seed)
    names = sorted(p.name for p in colour_dir.glob("*.png"))
    print(f"{count} training pairs from {len(TRAINING)} photographs; {len(names)} scoring crops from "
          f"{len(HELD_OUT)} held-out photographs", flush=True)
    if args.prepare_only:
        return
    run = args.work / "run"
    train_seconds = train(args, pairs, run)
    translated = args.work / "translated"
    subprocess.run([sys.executable, "-m", "img2img", "translate", str(grey_dir), "--model", str(run), "--out",
                    str(translated), "--overwrite"], check=True)
    colour_in = args.work / "translated-from-colour"  # the same crops given in colour: the model greys them
    subprocess.run([sys.executable, "-m", "img2img", "translate", str(colour_dir), "--model", str(run), "--out",
                    str(colour_in), "--overwrite"], check=True)

    from img2img.evaluate import feature_extractor, load_rgb

    extractor, features = feature_extractor("inception")
    results = {"grey input unchanged": score(grey_dir, colour_dir, names, features),
               "photo-colourise (ours)": score(translated, colour_dir, names, features)}
    same = max(float(np.abs(load_rgb(translated / n) - load_rgb(colour_in / n)).max()) for n in names)
    lines = ["| method | PSNR dB (higher) | SSIM (higher) | L1 (lower) | colourfulness (truth: {t:.1f}) | "
             "KID (lower) | FID (lower) |".format(t=results["grey input unchanged"]["truth_colourfulness"]),
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {key} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['l1']:.4f} | {r['colourfulness']:.1f} | "
              f"{r['kid']:.4f} ± {r['kid_std']:.4f} | {r['fid']:.1f} |" for key, r in results.items()]
    report = "\n".join([
        f"Grey -> colour on {len(names)} crops of {SCORE_CROP} px from {len(HELD_OUT)} held-out photographs "
        f"(short side {SCORE_SIDE} px), never trained on.",
        f"Training: {count} pairs of {SIZE} px crops from {len(TRAINING)} photographs, {args.steps} steps, batch "
        f"{args.batch_size}, filters {args.filters}, {train_seconds / 60:.1f} min on {cpu_description()} "
        f"(`python -m bench.quality.photo_colourise {' '.join(sys.argv[1:])}`).",
        f"KID and FID features: {extractor}; KID over 100 subsets of {len(names) // 2} (mean ± standard "
        f"deviation); FID on {len(names)} images is biased upward and only compares rows of this table.",
        f"Colour and grey versions of the same crops translate to the same output (max difference {same:.2g} "
        "in [0, 1]: Pillow rounds the grey version to whole bytes).",
        "", *lines, ""])
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "photo_colourise.md").write_text(report)
    (args.out / "photo_colourise.json").write_text(json.dumps(
        {"results": results, "features": extractor, "train_seconds": train_seconds, "steps": args.steps,
         "pairs": count, "cpu": cpu_description(), "colour_vs_grey_input_max_diff": same}, indent=2))
    shown = names[::max(1, len(names) // 8)][:8]
    strip([[grey_dir / n for n in shown], [translated / n for n in shown], [colour_dir / n for n in shown]],
          args.out / "photo_colourise_strip.png")
    if args.ship:
        ship(run, REPO / "models" / args.ship, report, args.out / "photo_colourise_strip.png", count)


def ship(run: Path, folder: Path, report: str, strip_png: Path, count: int) -> None:
    """The generator as a shipped model: its config, the network, the strip, and a card with the scores
    just measured and every training photograph's author and licence."""
    import shutil

    config = json.loads((run / "config.json").read_text())
    config["exports"] = {"generator": "generator.keras"}
    config["data"] = {"source": f"{len(TRAINING)} CC0 / CC-BY photographs; see MODEL_CARD.md"}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.copyfile(run / "generator.keras", folder / "generator.keras")
    shutil.copyfile(strip_png, folder / "examples.png")
    credits = "\n".join(f"  - `{Path(str(source)).name}`: {author}, {licence} (from {origin})"
                        for source, author, licence, origin in TRAINING)
    settings = config["settings"]
    (folder / "MODEL_CARD.md").write_text(MODEL_CARD.format(
        name=folder.name, filters=settings["filters"], count=count, photos=len(TRAINING), credits=credits,
        size=SIZE, scales=", ".join(map(str, SCALES)), report=report.strip()))
    print(f"shipped {folder}")


MODEL_CARD = """# {name}

Grey -> colour for photographs: give it a grey photo, or a colour one (it greys it first), and it paints
plausible colours back. `img2img translate photos/ --model {name}`.

- **Architecture**: pix2pix (img2img `pix2pix` model): U-Net of depth 7 with {filters} filters, nearest-resize
  upsampling, batch norm, trained with a 70x70 PatchGAN and L1 (lambda 100). Its first layer reduces the input
  to luma (ITU-R 601), so colour and grey versions of a photo give the same output. Fully convolutional:
  a photo translates at its own size, padded only to the next multiple of 128 px.
- **Training data**: {count} random {size} px crops of {photos} photographs, each seen at a short side of
  {scales} px (never upscaled). Licences: every photograph allows redistributing a model trained on it:
{credits}
- **Licence of this model**: CC-BY-4.0, crediting the photographers above.
- **Intended use**: recolouring grey photographs of landscapes, plants and everyday scenes, and a baseline
  for better colourisers. It learnt from {photos} photographs: skies and water come out blue and plants
  green or orange-brown, but colours the grey cannot tell (a flower's, a car's) are guesses, often wrong,
  which is why its PSNR is below the grey input's below; it knows nothing of faces or text.

## How it was trained and scored
Produced by `bench/quality/photo_colourise.py` (the exact command is below), which cuts the crops, trains,
translates held-out photographs with `img2img translate`, scores them and writes this card.

{report}

![grey input, this model's colours, the photograph](examples.png)
"""


if __name__ == "__main__":
    main()
