"""Every worker starts from the chief's initial weights, without a collective per variable.

MultiWorkerMirroredStrategy gives every worker the chief's values by broadcasting each new variable's
initial value as it is created: one eager collective per variable, each a rendezvous of every worker, and
all the weights' bytes sent again though seeded initialisers have computed the same values on every worker.
``chief_values_in_one_collective`` creates the variables of its block from local initial values, then
compares each variable's 64-bit fingerprint with the chief's (one small all-reduce) and sends only the
variables that differ somewhere, in one all-reduce of their bytes: the chief adds its bits, the others
zeros, so the sum is the chief's bits exactly, whatever the dtype. Measured side by side in
docs/training.md.

This replaces a private method of TensorFlow's strategy object for the duration of the block; where that
method is not there (another TensorFlow), nothing is replaced and TensorFlow broadcasts as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_HOOK = "_get_variable_creator_initial_value"


@contextlib.contextmanager
def chief_values_in_one_collective(strategy: Any) -> Iterator[None]:
    """Inside ``strategy.scope()``: variables created in the block hold the chief's values when it ends. A
    no-op for every strategy but multi-worker with several workers."""
    import tensorflow as tf

    extended = strategy.extended
    workers = getattr(extended, "_num_workers", 1)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or workers < 2 \
            or not hasattr(type(extended), _HOOK):
        yield
        return
    created: list[Any] = []

    def local_initial_value(replica_id: int, device: Any, primary_var: Any, **kwargs: Any) -> Any:
        if replica_id != 0:  # a worker's further local replicas copy its first: TensorFlow's own path
            return getattr(type(extended), _HOOK)(extended, replica_id, device, primary_var, **kwargs)

        def initial_value() -> Any:
            with tf.device(device):
                value = kwargs["initial_value"]
                value = value() if callable(value) else value
                value = getattr(value, "wrapped_value", value)  # a CheckpointInitialValue
                return tf.convert_to_tensor(value, dtype=kwargs.get("dtype"))

        return initial_value

    def record(next_creator: Any, **kwargs: Any) -> Any:
        variable = next_creator(**kwargs)
        created.append(variable)
        return variable

    setattr(extended, _HOOK, local_initial_value)
    try:
        with tf.variable_creator_scope(record):
            yield
    finally:
        delattr(extended, _HOOK)
    if created:
        _give_every_worker_the_chiefs_values(strategy, created)


def _give_every_worker_the_chiefs_values(strategy: Any, variables: list[Any]) -> None:
    """Seeded initialisers give every worker the same values already: compare 64-bit fingerprints first
    (computed eagerly, then one small collective), and send only the variables whose values differ on some
    worker."""
    import tensorflow as tf

    chief = bool(strategy.extended._is_chief)
    prints = tf.stack([tf.cast(tf.reshape(tf.fingerprint(tf.reshape(_as_int32_words(tf.convert_to_tensor(v)), [1, -1])),
                                          [8]), tf.int32) for v in variables])

    def replica_differs(mine: Any) -> Any:
        context = tf.distribute.get_replica_context()
        mine = tf.identity(mine)  # placed on this replica's device, which the collective needs
        chiefs = context.all_reduce(tf.distribute.ReduceOp.SUM, mine if chief else tf.zeros_like(mine))
        differs = tf.cast(tf.reduce_any(tf.not_equal(mine, chiefs), axis=1), tf.int32)
        return context.all_reduce(tf.distribute.ReduceOp.SUM, differs)  # so every worker sends the same ones

    differs = tf.function(lambda mine: strategy.experimental_local_results(
        strategy.run(replica_differs, args=(mine,)))[0], autograph=False)(prints)
    different = [v for v, count in zip(variables, differs.numpy(), strict=True) if count]
    if different:
        _send_chief_values(strategy, different)


def _send_chief_values(strategy: Any, variables: list[Any]) -> None:
    import tensorflow as tf

    chief = bool(strategy.extended._is_chief)
    sizes: list[int] = []

    def replica_sum() -> Any:
        words = [_as_int32_words(tf.convert_to_tensor(v)) for v in variables]
        sizes[:] = [int(w.shape[0]) for w in words]
        flat = tf.concat(words, axis=0) if chief else tf.zeros([sum(sizes)], tf.int32)
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, flat)

    @tf.function(autograph=False)
    def exchange() -> None:
        summed = strategy.experimental_local_results(strategy.run(replica_sum))[0]
        for variable, part in zip(variables, tf.split(summed, sizes), strict=True):
            variable.assign(_from_int32_words(part, variable))

    exchange()


def _as_int32_words(value: Any) -> Any:
    """The value's bits as a flat int32 vector (16- and 8-bit types widened, 64-bit ones split), so that
    adding zeros leaves them exactly as they were."""
    import tensorflow as tf

    size = value.dtype.size
    if value.dtype == tf.bool:
        return tf.reshape(tf.cast(value, tf.int32), [-1])
    if size in (4, 8):  # an 8-byte value bitcasts to two words
        return tf.reshape(tf.bitcast(value, tf.int32), [-1])
    if size == 2:
        return tf.reshape(tf.cast(tf.bitcast(value, tf.uint16), tf.int32), [-1])
    return tf.reshape(tf.cast(tf.bitcast(value, tf.uint8), tf.int32), [-1])


def _from_int32_words(words: Any, variable: Any) -> Any:
    import tensorflow as tf

    dtype, shape = variable.dtype, variable.shape
    size = dtype.size
    if dtype == tf.bool:
        return tf.reshape(tf.cast(words, tf.bool), shape)
    if size == 4:
        return tf.reshape(tf.bitcast(words, dtype), shape)
    if size == 8:
        return tf.reshape(tf.bitcast(tf.reshape(words, [-1, 2]), dtype), shape)
    if size == 2:
        return tf.reshape(tf.bitcast(tf.cast(words, tf.uint16), dtype), shape)
    return tf.reshape(tf.bitcast(tf.cast(words, tf.uint8), dtype), shape)
