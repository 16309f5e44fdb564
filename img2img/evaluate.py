"""``img2img evaluate``: score a run the way papers do.

The run translates ``--data`` (or, for a model that samples from noise, generates as many images as there are
targets), and its outputs are compared with the target images: FID and KID on a named feature extractor
(the standard FID Inception network by default), and, when ``--truth`` holds each input's answer under the
same relative path and stem, L1, PSNR and SSIM per pair. Outputs go to a temporary folder through the same
code as ``translate`` and ``generate``, so what is scored is exactly what those commands write.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from img2img.errors import Img2ImgError
from img2img.metrics import frechet_distance, kernel_inception_distance
from img2img.plugins import PluginManager

FEATURES = ("inception", "pixels16")
KID_SUBSETS = 100
SMALL_SET = 2048  # FID's bias grows as the sets shrink below the feature size (reference.md: prefer KID)


@dataclass
class Report:
    model: str
    features: str
    outputs: int
    targets: int
    fid: float
    kid: float
    kid_std: float
    kid_subsets: int
    kid_subset_size: int
    paired: int = 0
    l1: float | None = None
    psnr: float | None = None
    ssim: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"Model: {self.model}", f"Features: {self.features}",
               f"FID: {self.fid:.4f}  ({self.outputs} outputs against {self.targets} targets)",
               f"KID: {self.kid:.5f} +- {self.kid_std:.5f}  (mean and spread over {self.kid_subsets} subsets of "
               f"{self.kid_subset_size})"]
        if self.paired:
            out.append(f"Against --truth, {self.paired} pairs: L1 {self.l1:.4f}, PSNR {self.psnr:.2f} dB, "
                       f"SSIM {self.ssim:.4f}  (pixels in [0, 1])")
        return out + [f"Note: {n}" for n in self.notes]


def scanned(folder: Path, option: str) -> Any:
    """Every readable image under ``folder`` (unreadable ones named in one warning)."""
    from img2img.data.folder import scan_folder

    return scan_folder(Path(folder).expanduser(), option)


def load_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """RGB floats in [0, 1], resized (bilinear) to ``size`` = (width, height) when given."""
    from PIL import Image

    from img2img.data.images import load_image

    pixels = load_image(path, 3)
    if size is not None and (pixels.shape[1], pixels.shape[0]) != size:
        pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.BILINEAR))
    return pixels.astype(np.float32) / 255.0


def feature_extractor(name: str) -> tuple[str, Any]:
    """(description, function from a list of [h, w, 3] images in [0, 1] to [n, d] features)."""
    if name == "inception":
        from img2img.fid_inception import NAME, fid_features, weights_path

        weights_path()  # fails now, naming the install command, rather than after translating
        return NAME, fid_features
    if name == "pixels16":
        import tensorflow as tf

        def pixels(images: list[np.ndarray]) -> np.ndarray:
            return np.stack([tf.image.resize(image, (16, 16), antialias=True).numpy().reshape(-1) * 2 - 1
                             for image in images]).astype(np.float64)

        return "16x16 RGB pixels in [-1, 1], 768-d (a small extractor: not comparable with published FIDs)", pixels
    raise Img2ImgError(f"--features {name}: valid extractors: {', '.join(FEATURES)}")


def pixel_scores(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, float]:
    """Mean L1, PSNR (dB, of the mean squared error of each pair) and SSIM (tf.image.ssim) over the pairs."""
    import tensorflow as tf

    l1, psnr, ssim = [], [], []
    for output, truth in pairs:
        l1.append(float(np.abs(output - truth).mean()))
        mse = float(np.mean((output - truth) ** 2))
        psnr.append(10 * np.log10(1.0 / max(mse, 1e-12)))
        side = min(truth.shape[0], truth.shape[1])
        ssim.append(float(tf.image.ssim(tf.constant(output), tf.constant(truth), max_val=1.0,
                                        filter_size=min(11, side))))
    return float(np.mean(l1)), float(np.mean(psnr)), float(np.mean(ssim))


def run_outputs(model: Path, data: Path | None, count: int, work: Path, plugins: PluginManager) -> tuple[str, Path]:
    """What the run makes, written into ``work``: translations of ``data``, or ``count`` samples."""
    from img2img.runs import RunDirectory, run_model_class

    run = RunDirectory.open(model, option="--model")
    config = run.read_config()
    model_cls = run_model_class(run, config, plugins)
    if config.get("translate", {}).get("directions") or model_cls.translations:
        if data is None:
            raise Img2ImgError(f"--model {model}: model {model_cls.name!r} translates images: give --data INPUTS")
        from img2img.translate import Translator, translate_files
        from img2img.translate_inputs import collect_jobs

        translator = Translator(model, None, plugins)
        skipped: list[tuple[Path, str]] = []
        jobs = collect_jobs([Path(data)], work, "png", skipped)
        translate_files(jobs, translator, size=None, batch_size=8, progress=lambda n: None)
        return translator.description, work
    if data is not None:
        raise Img2ImgError(f"--data: model {model_cls.name!r} samples from noise and takes no inputs; drop --data")
    from img2img.generate import generate_images

    generate_images(model, count, work, seed=0, label=None, overwrite=False, plugins=plugins)
    return f"{model_cls.name} samples ({run.path})", work


def evaluate(model: Path, data: Path | None, truth: Path | None, target: Path | None, features: str,
             plugins: PluginManager) -> Report:
    if (truth is None) == (target is None):
        raise Img2ImgError("give --truth DIR (each input's answer, under the same relative path and name) or "
                           "--target DIR (images of the output domain), not both")
    from img2img.data.folder import files_by_stem

    # --truth pairs by name; --target is a pile, where files named alike (cat.jpg, cat.png) both count.
    reference = files_by_stem(scanned(truth, "--truth"), "--truth") if truth is not None else {}
    targets = list(reference.values()) if truth is not None else scanned(target, "--target").files  # type: ignore[arg-type]
    name, extract = feature_extractor(features)
    with tempfile.TemporaryDirectory(prefix="img2img-evaluate-") as tmp:
        description, folder = run_outputs(model, data, len(targets), Path(tmp) / "outputs", plugins)
        outputs = files_by_stem(scanned(folder, "outputs"), "outputs")
        report_notes: list[str] = []
        pairs: list[tuple[np.ndarray, np.ndarray]] = []
        if truth is not None:
            common = sorted(outputs.keys() & reference.keys())
            if not common:
                raise Img2ImgError(f"--truth {truth}: no file shares a relative path and name with an input of "
                                   f"--data {data} (e.g. {next(iter(outputs))!r}); pair them by name")
            missing = len(outputs) - len(common)
            if missing:
                report_notes.append(f"{missing} output(s) have no file of the same name in --truth; they count "
                                    "for FID and KID only")
            for key in common:
                answer = load_rgb(reference[key])
                pairs.append((load_rgb(outputs[key], (answer.shape[1], answer.shape[0])), answer))
        made = [load_rgb(p) for p in outputs.values()]
        wanted = [load_rgb(p) for p in targets]
    if len(made) < 2 or len(wanted) < 2:
        raise Img2ImgError("FID and KID need at least two outputs and two targets")
    fx, fy = extract(made), extract(wanted)
    # Subsets of half the smaller set (at most 1,000, as the KID paper's), so that they differ and the
    # spread over them says how much the figure would move with other images.
    half = min(1000, max(2, min(len(fx), len(fy)) // 2))
    kid = kernel_inception_distance(fx, fy, subsets=KID_SUBSETS, subset_size=half)
    if min(len(made), len(wanted)) < SMALL_SET:
        report_notes.append(f"FID is biased upward for sets this small ({min(len(made), len(wanted))} < "
                            f"{SMALL_SET}); compare runs on equal set sizes, or read KID")
    report = Report(model=description, features=name, outputs=len(made), targets=len(wanted),
                    fid=frechet_distance(fx, fy), kid=kid.mean, kid_std=kid.std, kid_subsets=kid.subsets,
                    kid_subset_size=kid.subset_size, notes=report_notes)
    if pairs:
        report.paired = len(pairs)
        report.l1, report.psnr, report.ssim = pixel_scores(pairs)
    return report
