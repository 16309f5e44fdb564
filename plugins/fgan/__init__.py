"""Built-in f-GAN losses (Nowozin, Cseke, Tomioka 2016): every row of the table in reference.md.

Each divergence is declared only by f, its conjugate f* and the output activation g_f; the core derives
both players' losses and the variational bound from them. Where f*(g_f(v)) composes badly in floating
point, a fused form that stays finite for critic outputs in [-50, 50] (and far beyond) is given too.
Keras is imported inside the hook, keeping ``img2img --help`` free of it.
"""

from img2img import hookimpl


@hookimpl
def register_losses(register):
    from img2img_plugins.fgan.divergences import all_divergences

    for divergence in all_divergences():
        register(divergence)
