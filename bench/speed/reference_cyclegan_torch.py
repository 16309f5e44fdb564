"""The reference CycleGAN's training step, rebuilt in PyTorch for timing beside img2img on the same machine.

Run by ``bench.speed.cyclegan_speed --torch-venv`` with a scratch virtual environment's Python (PyTorch is
never installed into img2img's own). Written for this project from the reference implementation's published
architecture and update order (junyanz/pytorch-CycleGAN-and-pix2pix, reference.md "CycleGAN"), not copied:

- generator: reflection pad + 7x7 conv, two stride-2 3x3 convs, N residual blocks of two reflection-padded
  3x3 convs, two stride-2 transposed 3x3 convs, reflection pad + 7x7 conv, tanh; instance norm without affine
  parameters after every convolution but the last, biases on (the reference's choice with instance norm);
- critic: the 70x70 PatchGAN (4x4 convs 64-128-256 stride 2, 512 stride 1, 1 stride 1; leaky ReLU 0.2;
  instance norm on all but the first and last);
- one step = the reference's ``optimize_parameters``: both generators forward, the critics' parameters frozen
  while both generators take one Adam step on LSGAN + 10 x cycle L1 + 0.5 x 10 x identity L1, then both
  critics one Adam step on (real, pooled fake) halves; image pool of 50; Adam 2e-4, betas (0.5, 0.999);
  weights N(0, 0.02). Batch 1, float32, as the reference trains.

Prints one result line (``bench.harness.print_result``, JSON): seconds per step after warm-up, generator
forward passes per second, torch's version and thread count.

    bench-work/torch-venv/bin/python bench/speed/reference_cyclegan_torch.py --size 64 --blocks 6 --steps 8
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path
from typing import Any


def reference_cyclegan(size: int, blocks: int) -> Any:
    """A ``CycleGANStep``: called with (real_a, real_b) it takes one training step. PyTorch is imported here,
    so the module itself imports without it (img2img's own environment has none)."""
    import torch
    from torch import nn

    def norm(channels: int) -> nn.Module:
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


    class ResidualBlock(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels), nn.ReLU(True),
                nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)


    def generator(blocks: int, filters: int = 64) -> nn.Module:
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, filters, 7), norm(filters), nn.ReLU(True)]
        width = filters
        for _ in range(2):
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1), norm(width * 2), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                       norm(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, 3, 7), nn.Tanh()]
        return nn.Sequential(*layers)


    def patch_critic(filters: int = 64) -> nn.Module:
        layers: list[nn.Module] = [nn.Conv2d(3, filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = filters
        for stride, out in ((2, filters * 2), (2, filters * 4), (1, filters * 8)):
            layers += [nn.Conv2d(width, out, 4, stride, 1), norm(out), nn.LeakyReLU(0.2, True)]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        return nn.Sequential(*layers)


    def initialise(module: nn.Module) -> None:
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(module.weight, 0.0, 0.02)
            nn.init.zeros_(module.bias)


    class ImagePool:
        """Half the time, once full, a critic sees an older fake in place of the new one (the reference's pool)."""

        def __init__(self, size: int = 50) -> None:
            self.size, self.images = size, []

        def query(self, image: torch.Tensor) -> torch.Tensor:
            if len(self.images) < self.size:
                self.images.append(image)
                return image
            if random.random() > 0.5:
                i = random.randrange(self.size)
                old, self.images[i] = self.images[i], image
                return old
            return image


    class CycleGANStep:
        def __init__(self, size: int, blocks: int) -> None:
            self.g_ab, self.g_ba = generator(blocks), generator(blocks)
            self.d_a, self.d_b = patch_critic(), patch_critic()
            for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):
                net.apply(initialise)
            self.opt_g = torch.optim.Adam(itertools.chain(self.g_ab.parameters(), self.g_ba.parameters()),
                                          lr=2e-4, betas=(0.5, 0.999))
            self.opt_d = torch.optim.Adam(itertools.chain(self.d_a.parameters(), self.d_b.parameters()),
                                          lr=2e-4, betas=(0.5, 0.999))
            self.pool_a, self.pool_b = ImagePool(), ImagePool()
            self.mse, self.l1 = nn.MSELoss(), nn.L1Loss()

        def gan(self, prediction: torch.Tensor, real: bool) -> torch.Tensor:
            target = torch.ones_like(prediction) if real else torch.zeros_like(prediction)
            return self.mse(prediction, target)

        def critics_trainable(self, trainable: bool) -> None:
            for p in itertools.chain(self.d_a.parameters(), self.d_b.parameters()):
                p.requires_grad_(trainable)

        def __call__(self, real_a: torch.Tensor, real_b: torch.Tensor) -> float:
            fake_b = self.g_ab(real_a)
            rec_a = self.g_ba(fake_b)
            fake_a = self.g_ba(real_b)
            rec_b = self.g_ab(fake_a)
            self.critics_trainable(False)
            self.opt_g.zero_grad()
            identity = 0.5 * 10.0 * (self.l1(self.g_ab(real_b), real_b) + self.l1(self.g_ba(real_a), real_a))
            g_loss = (self.gan(self.d_a(fake_b), True) + self.gan(self.d_b(fake_a), True)
                      + 10.0 * (self.l1(rec_a, real_a) + self.l1(rec_b, real_b)) + identity)
            g_loss.backward()
            self.opt_g.step()
            self.critics_trainable(True)
            self.opt_d.zero_grad()
            for critic, real, fake in ((self.d_a, real_b, self.pool_b.query(fake_b)),
                                       (self.d_b, real_a, self.pool_a.query(fake_a))):
                d_loss = 0.5 * (self.gan(critic(real), True) + self.gan(critic(fake.detach()), False))
                d_loss.backward()
            self.opt_d.step()
            return float(g_loss.detach())

    return CycleGANStep(size, blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.harness import cpu_description, print_result  # standard library only: fine in the scratch venv

    print(f"reference PyTorch step on {cpu_description()}", file=sys.stderr)
    import torch

    torch.manual_seed(0)
    random.seed(0)
    step = reference_cyclegan(args.size, args.blocks)
    batches = [(torch.rand(1, 3, args.size, args.size) * 2 - 1, torch.rand(1, 3, args.size, args.size) * 2 - 1)
               for _ in range(4)]
    started = time.perf_counter()
    step(*batches[0])
    first = time.perf_counter() - started
    step(*batches[1])  # the same two warm-up steps as img2img's side
    started = time.perf_counter()
    for i in range(args.steps):
        step(*batches[i % 4])
    per_step = (time.perf_counter() - started) / args.steps
    with torch.no_grad():
        step.g_ab.eval()
        step.g_ab(batches[0][0])
        count = max(args.steps, 10)
        started = time.perf_counter()
        for _ in range(count):
            step.g_ab(batches[0][0])
        per_image = (time.perf_counter() - started) / count
    print_result({"step": per_step, "first": first, "images_per_s": 1.0 / per_image, "torch": torch.__version__,
                  "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
