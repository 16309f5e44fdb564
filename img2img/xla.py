"""Whether XLA compiles the training step (``--set jit_compile``), and what the start line says of it.

Keras' ``jit_compile="auto"`` compiles the step on a GPU and not on a CPU, and not at all under
tf.distribute: XLA compiles a function for one device, and a step over several replicas reads each
replica's variables on its own device, which a compiled cluster on the first device cannot reach ("Trying to
access resource ... located in device CPU:1 from device CPU:0", keras-team/keras#19005; Keras turned XLA off
with tf.distribute in keras-team/keras#18716). So ``jit_compile=true`` with several replicas is refused
before anything is built, rather than fail with that error at the first step; and under the multi-worker
loop, which does not compile with XLA, it is refused rather than ignored.
"""

from __future__ import annotations

from typing import Any

from img2img.errors import Img2ImgError


def check_jit_compile(setting: str, replicas: int, multi_worker: bool) -> None:
    """Refuse ``jit_compile=true`` where XLA cannot compile the step, naming what to do instead."""
    if setting != "true" or (replicas == 1 and not multi_worker):
        return
    where = "--strategy multi-worker" if multi_worker else f"{replicas} replicas"
    raise Img2ImgError(
        f"--set jit_compile=true: XLA cannot compile a step over {where}: it compiles for one device, and the "
        "step reads every replica's variables on its own device (keras-team/keras#19005). Train on one device "
        "(--strategy one) to use XLA, or --set jit_compile=auto (XLA off with several replicas)")


def describe_jit_compile(setting: str, compiled: bool, gpu: bool, replicas: int, multi_worker: bool) -> str:
    """The start line's words on XLA, where they tell the user something: with a GPU, where XLA is Keras'
    default, or when ``--set jit_compile`` asked for something. Empty on a CPU left at auto (off, as the docs
    say)."""
    if not gpu and setting == "auto":
        return ""
    if compiled:
        return "XLA on" + ("" if setting == "true" else " (--set jit_compile=false turns it off)")
    if setting == "false":
        return "XLA off (--set jit_compile=false)"
    if replicas > 1 or multi_worker:
        return "XLA off (a step over several replicas is not compiled: keras-team/keras#19005)"
    return "XLA off (Keras found a layer of this model that XLA cannot compile)"


def compiles_with_xla(model: Any, multi_worker: bool) -> bool:
    """What Keras resolved ``jit_compile`` to; the multi-worker loop never compiles with XLA."""
    return bool(getattr(model, "jit_compile", False)) and not multi_worker
