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

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from img2img.errors import Img2ImgError

STRATEGIES = ("auto", "one", "mirrored", "multi-worker")
MULTI_WORKER = "multi-worker"


@dataclass(frozen=True)
class WorkerRole:
    """This process's place in a TF_CONFIG cluster: which task it is and whether it is the chief, the one
    worker that writes the run directory (TensorFlow's convention: the task of type "chief", else worker 0)."""

    task_type: str
    task_index: int
    workers: int
    has_chief_task: bool = False

    @property
    def chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_index == 0
                                             and not self.has_chief_task)

    def describe(self) -> str:
        return f"{self.task_type} {self.task_index} of {self.workers} ({'chief' if self.chief else 'not chief'})"


def worker_role(environ: dict[str, str] | None = None) -> WorkerRole:
    """The role TF_CONFIG gives this process, checked before TensorFlow starts, with errors that say which
    part of TF_CONFIG is wrong."""
    import os

    raw = (environ if environ is not None else os.environ).get("TF_CONFIG")
    if not raw:
        raise Img2ImgError("--strategy multi-worker: set TF_CONFIG on every worker, e.g. "
                           "'{\"cluster\": {\"worker\": [\"host1:12345\", \"host2:12345\"]}, "
                           "\"task\": {\"type\": \"worker\", \"index\": 0}}' (docs/training.md)")
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        task_type, index = str(task["type"]), int(task["index"])
        members = {kind: list(addresses) for kind, addresses in cluster.items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise Img2ImgError(f"TF_CONFIG: not a cluster description ({exc}); it needs \"cluster\" (a map of "
                           "task types to host:port lists) and \"task\" (\"type\" and \"index\")") from None
    if task_type not in members or not 0 <= index < len(members[task_type]):
        raise Img2ImgError(f"TF_CONFIG: task {task_type} {index} is not in its cluster "
                           f"({', '.join(f'{k}: {len(v)}' for k, v in members.items())})")
    workers = len(members.get("chief", [])) + len(members.get("worker", []))
    return WorkerRole(task_type, index, workers, "chief" in members)


def make_strategy(name: str, devices: list[str] | None = None) -> Any:
    """``one``: TensorFlow's default (one device); ``mirrored``: every GPU, or ``devices``; ``auto``:
    mirrored when there are several GPUs, else one device; ``multi-worker``: every worker TF_CONFIG names,
    each with all its GPUs (or its CPU)."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise Img2ImgError(f"--strategy {name}: valid strategies: {', '.join(STRATEGIES)}")
    if name == MULTI_WORKER:
        worker_role()  # a clear error for a missing or broken TF_CONFIG before TensorFlow reads it
        return tf.distribute.MultiWorkerMirroredStrategy()
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


def global_batches(strategy: Any, batched: Any) -> Any:
    """An iterator over ``batched`` (a dataset of global batches) that hands each replica its rows.
    Every worker reads the whole stream and keeps its own rows of every global batch (DATA sharding): a
    folder of images is not split into files per worker, so every worker needs to see every file, and with
    one seed the workers together see what one device sees."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return iter(strategy.experimental_distribute_dataset(batched.with_options(options)))


def is_multi_worker(strategy: Any) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def describe(strategy: Any) -> str:
    replicas = strategy.num_replicas_in_sync
    if is_multi_worker(strategy):
        return f"MultiWorkerMirroredStrategy over {replicas} replicas, this process {worker_role().describe()}"
    if replicas == 1:
        import tensorflow as tf

        if isinstance(strategy, tf.distribute.MirroredStrategy):  # asked for, but nothing to mirror over
            return (f"one device (--strategy mirrored: no GPUs to mirror over; {CPU_DEVICES_VARIABLE}=2 splits "
                    "the CPU in two to try it)")
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

    from img2img.replica_step import standing_replica_id

    if replica_count() == 1:
        return global_rows
    index = standing_replica_id()  # inside a part traced once for every replica, the id each call passes
    if index is None:
        index = tf.distribute.get_replica_context().replica_id_in_sync_group
    rows = global_rows[index * local_batch:(index + 1) * local_batch]
    if isinstance(local_batch, int):  # a tensor id leaves the slice's length unknown to shape inference
        rows.set_shape([local_batch, *global_rows.shape[1:]])
    return rows


def all_replicas_rows(local_rows: Any) -> Any:
    """Every replica's rows stacked in global-batch order (an all-gather), for state that one device updates
    sample by sample in batch order, such as CycleGAN's image pools; the tensor itself on one device."""
    import tensorflow as tf

    n = replica_count()
    if n == 1:
        return local_rows
    _refuse_inside_a_shared_part("all_replicas_rows")
    gathered = tf.distribute.get_replica_context().all_gather(local_rows, axis=0)
    # The gather's output has no static shape. Keras sends a convolution whose input channels it cannot see
    # to XLA (compiled on the first step, then run instead of oneDNN), so give back the shape that is known.
    rows = local_rows.shape[0]
    with contextlib.suppress(ValueError):  # a tensor every replica shares, not per-replica rows: TF's own shape
        gathered.set_shape([None if rows is None else rows * n, *local_rows.shape[1:]])
    return gathered


def all_replicas_sum(values: list[Any]) -> list[Any]:
    """The sum over replicas of each tensor; the identity on one device. It passes no gradient back (a tape
    sees zeros through it), so a term of the sum is differentiated through a surrogate (schemes.py)."""
    import tensorflow as tf

    if replica_count() == 1:
        return values
    _refuse_inside_a_shared_part("all_replicas_sum")
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)


def _refuse_inside_a_shared_part(name: str) -> None:
    """A collective needs every replica's own trace: raised while a part is traced once for all of them
    (img2img.replica_step), which then lets each replica trace the part instead."""
    from img2img.replica_step import standing_replica_id

    if standing_replica_id() is not None:
        raise RuntimeError(f"{name} is a collective; call it outside the SharedReplicaStep part")


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


def draw_dropout_for_global_batch(*networks: Any) -> int:
    """Make every dropout layer of ``networks`` draw its mask for the global batch and keep this replica's
    rows (pix2pix's decoder), as ``global_draw`` does for z: left alone, every replica would draw the same
    mask from the mirrored seed state for its own rows. Only the layer instance's ``call`` changes, so a saved
    network is a stock Keras one. Returns how many layers it changed."""
    import keras

    changed = 0
    for network in networks:
        for layer in network._flatten_layers():
            if isinstance(layer, keras.layers.Dropout) and not getattr(layer, "_draws_global_masks", False):
                if layer.noise_shape is not None:
                    raise Img2ImgError(f"layer {layer.name}: dropout with a noise_shape cannot be drawn for the "
                                       "global batch yet; train it with --strategy one")
                layer.call = _global_dropout_call(layer)
                layer._draws_global_masks = True
                changed += 1
    return changed


def _global_dropout_call(layer: Any) -> Callable[..., Any]:
    import keras
    from keras import ops

    def call(inputs: Any, training: bool = False) -> Any:
        if not training or layer.rate <= 0:
            return inputs
        local = ops.shape(inputs)[0]
        ones = ops.ones((local * replica_count(), *inputs.shape[1:]), inputs.dtype)
        # What the stock layer computes for the global batch (its kept values scaled by 1/(1-rate)), sliced.
        scaled_mask = keras.random.dropout(ones, layer.rate, seed=layer.seed_generator)
        return inputs * this_replica_rows(scaled_mask, local)

    return call
