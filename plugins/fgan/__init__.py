"""Built-in f-GAN losses (Nowozin et al. 2016), each declared by f, f* and g_f as in reference.md."""

from img2img import hookimpl


def gan_divergence():
    """The 'GAN' row: f(u) = u log u - (u+1) log(u+1), g_f(v) = -log(1 + e^-v), f*(t) = -log(1 - e^t).

    Its critic loss is binary cross-entropy on logits and its practical generator loss is the
    non-saturating softplus(-V). f*(g_f(v)) simplifies to softplus(v), which stays finite for any v.
    """
    from keras import ops

    from img2img.losses import FDivergence

    return FDivergence(
        name="gan",
        f=lambda u: u * ops.log(u) - (u + 1.0) * ops.log(u + 1.0),
        conjugate=lambda t: -ops.log(1.0 - ops.exp(t)),
        activation=lambda v: -ops.softplus(-v),
        conjugate_of_activation=lambda v: ops.softplus(v),
        description="original GAN (Goodfellow 2014) with the non-saturating generator loss",
    )


@hookimpl
def register_losses(register):
    register(gan_divergence())
