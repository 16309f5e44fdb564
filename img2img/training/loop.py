"""The training loop for ``--strategy multi-worker``: ``strategy.run`` of the model's ``train_step`` with the
same Keras callbacks ``fit`` drives.

``fit`` under MultiWorkerMirroredStrategy fails on TF 2.21 / Keras 3.15 when Keras reduces the step's logs
across workers ("Invalid reduction dimension 0 for input with 0 dimensions"; reference.md, "Distributed
training"; keras-team/keras#20585), while a loop of ``strategy.run`` and ``strategy.reduce`` works. So this
loop does what ``fit`` does for our runs (epochs, steps per epoch, the callbacks' hooks in order, a
History) and nothing else, and it asks TensorFlow's PreemptionCheckpointHandler after every step whether a
worker got SIGTERM: then every worker stops at the same step, and the trainer saves there.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from img2img.distribute import global_batches
from img2img.termination import Terminated


def distributed_fit(model: Any, dataset: Any, strategy: Any, *, epochs: int, steps_per_epoch: int,
                    initial_epoch: int, callbacks: list[Any], verbose: int) -> Any:
    """Train like ``model.fit(dataset, epochs=..., steps_per_epoch=..., initial_epoch=...)``; returns the
    History callback. SIGTERM on any worker raises ``Terminated`` on every worker at one common step."""
    import keras
    import tensorflow as tf

    iterator = global_batches(strategy, dataset)
    # Sharding loses the static batch size that steps with per-sample loops (CycleGAN's pools) need back.
    global_batch = tf.nest.flatten(dataset.element_spec)[0].shape[0]
    local = global_batch // strategy.num_replicas_in_sync

    def replica_step(batch: Any) -> dict[str, Any]:
        return model.train_step(tf.nest.map_structure(lambda x: tf.ensure_shape(x, [local, *x.shape[1:]]), batch))

    @tf.function(autograph=False)  # as Keras traces a train_step: the Python runs as written
    def train_function(iterator: Any) -> dict[str, Any]:
        logs = strategy.run(replica_step, args=(next(iterator),))
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for name, value in logs.items()}

    hooks = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                                         verbose=verbose, epochs=epochs, steps=steps_per_epoch)
    scratch = tempfile.mkdtemp(prefix="img2img-preemption-")
    try:
        preemption = tf.distribute.experimental.PreemptionCheckpointHandler(
            strategy.cluster_resolver, tf.train.Checkpoint(), checkpoint_dir=f"{scratch}/unused",  # save_fn saves
            termination_config=tf.distribute.experimental.TerminationConfig(
                save_fn=lambda: None, exit_fn=_stop, grace_period=0))
        model.stop_training = False
        hooks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            hooks.on_epoch_begin(epoch)
            logs: dict[str, float] = {}
            for step in range(steps_per_epoch):
                hooks.on_train_batch_begin(step)
                logs = {name: float(value) for name, value in train_function(iterator).items()}
                hooks.on_train_batch_end(step, logs)
                preemption.save_checkpoint_if_preempted()  # _stop on every worker at the same step
                if model.stop_training:
                    break
            hooks.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        hooks.on_train_end(logs)
        _leave_together(preemption, strategy)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return model.history


def _leave_together(preemption: Any, strategy: Any) -> None:
    """Stop the handler's watcher threads, then wait for every worker: the chief hosts TensorFlow's
    coordination service, and a worker whose watcher still waits on it when the chief exits prints a
    "Socket closed" traceback. (TensorFlow stops these threads itself only in ``__del__``, which their
    references to the handler keep from running, or when it handles a preemption.)"""
    import tensorflow as tf

    preemption._stop_cluster_wise_termination_watcher_thread()  # what its own __del__ calls
    preemption._stop_poll_termination_signal_thread()

    @tf.function(autograph=False)
    def barrier() -> Any:  # an all-reduce every worker must join
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(tf.ones, args=((),)), axis=None)

    barrier()


def _stop() -> None:
    """PreemptionCheckpointHandler's exit: unwind as Ctrl-C does, so the trainer saves the step reached."""
    raise Terminated()
