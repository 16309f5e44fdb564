"""A replica's share of a training step traced once, however many replicas run it.

While tracing, MirroredStrategy runs a step's Python once per replica (TensorFlow keys a function's traces by
device), so start-up grows with the replica count: eight replicas trace the same networks eight times, one
after another (bench/results/startup_cli.md has the figures). A part of the step that needs no collective
can instead be traced once as a function of the variables' values (``keras.StatelessScope``, the machinery
Keras itself uses for stateless training) and called by each replica with its own copies' values; what the
part assigns comes back out and each replica assigns it to its own copies, as it would have inside the part.

The part's tape must differentiate the tensors that stand for the variables, not the variables:
``gradient_sources`` gives the right ones in either case. Random draws for the global batch keep each
replica's own rows (``img2img.distribute.this_replica_rows`` reads the replica id the call passes in).
Should the part reach anything it was not given (a variable, or a tensor of the calling replica's: the trace
would capture it) or synchronise the replicas (a collective, such as a synchronised batch norm's), the shared
function is dropped and every replica traces the part as before: slower to start, never wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

_tracing = threading.local()  # in the replica thread tracing a shared part: its replica id and StatelessScope


def standing_replica_id() -> Any:
    """The replica id tensor a shared part receives, while one is being traced; None otherwise."""
    return getattr(_tracing, "replica_id", None)


def gradient_sources(tape: Any, variables: Sequence[Any]) -> list[Any]:
    """What ``tape.gradient`` should differentiate for ``variables``: the tensors standing for them inside a
    shared part (watched here, so call this inside the tape before they are read), else the variables."""
    scope = getattr(_tracing, "scope", None)
    if scope is None:
        return list(variables)
    sources = []
    for variable in variables:
        value = scope.get_current_value(variable)
        if value is None:
            raise ValueError(f"{variable.path}: not among the variables given to the SharedReplicaStep")
        sources.append(value)
    tape.watch(sources)
    return sources


class SharedReplicaStep:
    """``step(*args)``, traced once per training graph and called by every replica.

    ``variables`` returns every variable ``step`` reads or assigns (the model's, and an optimiser's loss scale
    if ``step`` scales a loss); ``args`` are tensors or nests of them. On one device, or eagerly, ``step``
    runs as it is."""

    def __init__(self, step: Callable[..., Any], variables: Callable[[], Sequence[Any]]) -> None:
        self._step = step
        self._variables = variables
        # Per outer graph and argument shapes; None: not shareable, each replica traces the step itself.
        self._traces: dict[Any, tuple[Any, list[int]] | None] = {}

    def __call__(self, *args: Any) -> Any:
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if tf.executing_eagerly() or context is None or _local_replicas() < 2:
            return self._step(*args)  # one trace per process already (one device, or a worker per device)
        variables = list(self._variables())
        values = [tf.convert_to_tensor(variable.value) for variable in variables]  # this replica's copies
        replica_id = tf.convert_to_tensor(context.replica_id_in_sync_group, tf.int32)
        key = (tf.compat.v1.get_default_graph(), tuple(_spec(t) for t in tf.nest.flatten(args)))
        if key not in self._traces:
            self._traces[key] = self._trace(variables, values, replica_id, args)
        traced = self._traces[key]
        if traced is None:
            return self._step(*args)
        function, assigned = traced
        result, updates = function(values, replica_id, args)
        for index, value in zip(assigned, updates, strict=True):
            variables[index].assign(value)
        return result

    def _trace(self, variables: list[Any], values: list[Any], replica_id: Any,
               args: tuple[Any, ...]) -> tuple[Any, list[int]] | None:
        import keras
        import tensorflow as tf

        assigned: list[int] = []

        def pure(values: list[Any], replica_id: Any, args: tuple[Any, ...]) -> tuple[Any, list[Any]]:
            outer = standing_replica_id(), getattr(_tracing, "scope", None)
            try:
                with keras.StatelessScope(list(zip(variables, values, strict=True))) as scope:
                    _tracing.replica_id, _tracing.scope = replica_id, scope
                    given = [scope.get_current_value(v) for v in variables]
                    result = self._step(*args)
                    current = [scope.get_current_value(v) for v in variables]
            finally:
                _tracing.replica_id, _tracing.scope = outer
            assigned[:] = [i for i, (old, new) in enumerate(zip(given, current, strict=True)) if new is not old]
            return result, [current[i] for i in assigned]

        try:
            function = tf.function(pure, autograph=False).get_concrete_function(values, replica_id, args)
        except RuntimeError:  # a collective: img2img's helpers and TF's merge_call refuse a nested function
            return None
        if function.captured_inputs or _has_collectives(function.graph):
            return None  # it reads a variable it was not given, or a tensor of this replica's, or synchronises
        return function, assigned


def _has_collectives(graph: Any) -> bool:
    """Whether ``graph`` (or a function it calls) holds a collective op, which each replica must trace with
    its own device and key: TensorFlow's collective all-reduce adds them where it needs no merge_call."""
    graph_def = graph.as_graph_def()
    ops = {node.op for node in graph_def.node}
    ops.update(node.op for function in graph_def.library.function for node in function.node_def)
    return any(op.startswith(("Collective", "Nccl")) for op in ops)


def _local_replicas() -> int:
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return 1
    return len(tf.distribute.get_strategy().extended.worker_devices)


def _spec(value: Any) -> Any:
    """What a trace of the part depends on in one argument: a tensor's shape and dtype, else the value."""
    return (tuple(value.shape), value.dtype) if hasattr(value, "dtype") else repr(value)
