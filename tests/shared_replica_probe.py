"""Run as a script (the CPU split in two before TensorFlow starts): img2img.replica_step on two mirrored
replicas, against the same part run by each replica as TensorFlow runs it; prints what it saw as JSON."""

from __future__ import annotations

import json

import keras
import numpy as np
import tensorflow as tf

from img2img.distribute import all_replicas_rows, global_draw, split_cpu

split_cpu(2)
from img2img.replica_step import SharedReplicaStep, gradient_sources  # noqa: E402

strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
with strategy.scope():
    dense = keras.layers.Dense(1, kernel_initializer="ones")
    dense.build((None, 3))
    seed = keras.random.SeedGenerator(7)
    hidden = keras.Variable(2.0, trainable=False)  # read by `leaky` without being given to it
runs = {"part": 0, "leaky": 0}


def part(x):
    runs["part"] += 1
    with tf.GradientTape() as tape:
        sources = gradient_sources(tape, dense.trainable_variables)
        noise = global_draw(lambda n: keras.random.normal((n, 3), seed=seed), 2)
        loss = tf.reduce_sum(dense(x + noise) ** 2)
    return tape.gradient(loss, sources), noise


def leaky(x):
    runs["leaky"] += 1
    return x * hidden


holder = {}


def closing(x):
    return x + holder["y"]  # a tensor of the calling replica's, reached without being passed


shared_closing = SharedReplicaStep(closing, lambda: [])


def setting_then_closing(x):
    holder["y"] = x * 10
    return shared_closing(x)


collective_runs = []


def gathering(x):
    collective_runs[-1] += 1
    return all_replicas_rows(x)


def reducing(x):
    collective_runs[-1] += 1
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, x)


def given():
    return [*dense.variables, seed.state]


x = strategy.experimental_distribute_values_from_function(
    lambda context: tf.fill([2, 3], float(context.replica_id_in_sync_group)))


def run(fn):
    @tf.function
    def step(x):
        return strategy.run(fn, args=(x,))
    return tf.nest.map_structure(lambda v: [np.asarray(t) for t in strategy.experimental_local_results(v)], step(x))


def seed_states():
    return [np.asarray(s).tolist() for s in strategy.experimental_local_results(seed.state.value)]


start = seed.state.numpy()
shared = run(SharedReplicaStep(part, given))
shared_seeds, shared_runs = seed_states(), runs["part"]
seed.state.assign(start)
alone = run(part)
alone_seeds = seed_states()
leaked = run(SharedReplicaStep(leaky, given))
closed = run(setting_then_closing)
collective_runs.append(0)
gathered = run(SharedReplicaStep(gathering, given))
collective_runs.append(0)
reduced = run(SharedReplicaStep(reducing, given))
flat_shared, flat_alone = tf.nest.flatten(shared), tf.nest.flatten(alone)
print(json.dumps({
    "shared_runs": shared_runs, "alone_runs": runs["part"] - shared_runs, "leaky_runs": runs["leaky"],
    "difference": max(float(np.abs(a - b).max()) for a, b in zip(flat_shared, flat_alone, strict=True)),
    "noise_rows_differ": bool(np.abs(shared[1][0] - shared[1][1]).max() > 0.1),
    "seeds": [shared_seeds, alone_seeds, start.tolist()],
    "leaked": [v.tolist() for v in leaked], "closed": [v.tolist() for v in closed],
    "collective_runs": collective_runs, "gathered": [v.tolist() for v in gathered],
    "reduced": [v.tolist() for v in reduced]}))
