"""Training on several devices with tf.distribute: the strategy ``--strategy`` names, and what a replica's
step needs so that N replicas compute what one device would on the same global batch.

Under ``MirroredStrategy`` each replica runs the training step on its share of the global batch and the
optimisers sum the replicas' gradients. So a hand-written loss (a mean over the replica's samples) must be
divided by the number of replicas before it is differentiated (``replica_share``; reference.md,
"Distributed training"), and random draws that stand for samples (z, the gradient penalty's interpolation
weights) are drawn for the whole global batch and sliced, or every replica would draw the same numbers
(``global_draw``). Outside a strategy both are the identity, so the one-device path is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from img2img.errors import Img2ImgError

STRATEGIES = ("auto", "one", "mirrored")


def make_strategy(name: str, devices: list[str] | None = None) -> Any:
    """``one``: TensorFlow's default (one device); ``mirrored``: every GPU, or ``devices``; ``auto``:
    mirrored when there are several GPUs, else one device."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise Img2ImgError(f"--strategy {name}: valid strategies: {', '.join(STRATEGIES)}")
    gpus = tf.config.list_logical_devices("GPU")
    if name == "one" or (name == "auto" and len(gpus) < 2 and not devices):
        return tf.distribute.get_strategy()
    return tf.distribute.MirroredStrategy(devices)


CPU_DEVICES_VARIABLE = "IMG2IMG_CPU_DEVICES"


def split_cpu(count: int) -> None:
    """Present the CPU as ``count`` logical devices (``IMG2IMG_CPU_DEVICES=2``), so that ``--strategy
    mirrored`` can be tried and tested without GPUs, as Keras' own distribution tests do. Must run before
    TensorFlow starts its runtime."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as exc:
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise Img2ImgError(f"{CPU_DEVICES_VARIABLE}={count}: TensorFlow already started with "
                               f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s) in this process") from exc


def strategy_for(name: str) -> Any:
    """The strategy ``--strategy NAME`` means on this machine (``IMG2IMG_CPU_DEVICES`` splits the CPU)."""
    import os

    import tensorflow as tf

    count = os.environ.get(CPU_DEVICES_VARIABLE)
    if count:
        if not count.isdigit() or int(count) < 1:
            raise Img2ImgError(f"{CPU_DEVICES_VARIABLE}={count}: give a whole number of devices, e.g. 2")
        split_cpu(int(count))
        if not tf.config.list_logical_devices("GPU") and name in ("mirrored", "auto") and int(count) > 1:
            return make_strategy("mirrored", [d.name for d in tf.config.list_logical_devices("CPU")])
    return make_strategy(name)


def describe(strategy: Any) -> str:
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return "one device"
    devices = getattr(strategy.extended, "worker_devices", ())
    return f"{type(strategy).__name__} over {replicas} replicas ({', '.join(devices)})"


def replica_count() -> int:
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def replica_share(loss: Any) -> Any:
    """``loss`` as this replica's share of the global-batch loss, so that the optimiser's sum over
    replicas is the one-device gradient."""
    n = replica_count()
    return loss if n == 1 else loss / n


def global_draw(draw: Callable[[int], Any], local_batch: Any) -> Any:
    """``draw(n)`` for the global batch, sliced to this replica's rows: every replica draws the same global
    numbers from its mirrored seed state and keeps its own share, which is what one device draws."""

    n = replica_count()
    if n == 1:
        return draw(local_batch)
    return this_replica_rows(draw(local_batch * n), local_batch)


def this_replica_rows(global_rows: Any, local_batch: Any) -> Any:
    """This replica's ``local_batch`` rows of a global-batch tensor (replica r holds rows r*b .. r*b + b - 1,
    the order in which tf.distribute splits a batch); the tensor itself on one device."""
    import tensorflow as tf

    if replica_count() == 1:
        return global_rows
    index = tf.distribute.get_replica_context().replica_id_in_sync_group
    return global_rows[index * local_batch:(index + 1) * local_batch]


def all_replicas_rows(local_rows: Any) -> Any:
    """Every replica's rows stacked in global-batch order (an all-gather), for state that one device updates
    sample by sample in batch order, such as CycleGAN's image pools; the tensor itself on one device."""
    import tensorflow as tf

    if replica_count() == 1:
        return local_rows
    return tf.distribute.get_replica_context().all_gather(local_rows, axis=0)


def all_replicas_sum(values: list[Any]) -> list[Any]:
    """The sum over replicas of each tensor; the identity on one device. It passes no gradient back (a tape
    sees zeros through it), so a term of the sum is differentiated through a surrogate (schemes.py)."""
    import tensorflow as tf

    if replica_count() == 1:
        return values
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)


def synchronise_batch_norm(*networks: Any) -> int:
    """Make every batch norm of ``networks`` normalise with statistics over all replicas (so N replicas
    train as one device does on the global batch); returns how many layers it changed."""
    import keras

    changed = 0
    for network in networks:
        for layer in network._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
                layer.synchronized = True
                changed += 1
    return changed
