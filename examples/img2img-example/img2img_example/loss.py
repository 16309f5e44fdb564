"""Least squares (Mao et al. 2017) as a plain AdversarialLoss, to show the interface."""

from keras import ops

from img2img import AdversarialLoss


class LeastSquares(AdversarialLoss):
    name = "least-squares-example"
    description = "least-squares GAN loss with targets 1 (real) and 0 (fake) (example plugin)"

    def discriminator_loss(self, real, fake):
        return 0.5 * (ops.mean(ops.square(real - 1.0)) + ops.mean(ops.square(fake)))

    def generator_loss(self, fake):
        return ops.mean(ops.square(fake - 1.0))
