"""``img2img divergence P Q --loss NAME``: train only a critic and report the variational estimate of
D_f(P||Q) (Nowozin et al. 2016) on held-out samples, with a 95 % band from their spread."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from img2img.data import DataRequest, ImageData, load_source
from img2img.errors import Img2ImgError
from img2img.losses import FDivergence, parse_loss_spec
from img2img.plugins import PluginManager


@dataclass
class DivergenceEstimate:
    loss: str
    estimate: float
    half_width: float  # 95 % band: estimate +- half_width
    held_out: int
    steps: int
    train_bound: float
    replicas: int = 1  # the devices the critic trained on (--strategy)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _critic(sample_shape: tuple[int, ...], hidden: int, seed: int) -> Any:
    import keras

    inputs = keras.Input(sample_shape)
    x = keras.layers.Flatten()(inputs)
    for i in range(2):
        x = keras.layers.Dense(hidden, activation="relu",
                               kernel_initializer=keras.initializers.GlorotUniform(seed + i))(x)
    out = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed + 2))(x)
    return keras.Model(inputs, out, name="critic")


def _stream(data: ImageData) -> Any:
    return data.dataset.map(lambda *x: x[0]) if data.class_names else data.dataset


def _batches(data: ImageData, batch_size: int, drop_remainder: bool = True) -> Any:
    import tensorflow as tf

    return iter(_stream(data).batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE))


def estimate_divergence(
    p_spec: str, q_spec: str, loss_spec: str, plugins: PluginManager, *, steps: int = 3000,
    batch_size: int = 512, image_size: int = 32, seed: int = 0, holdout: float = 0.2,
    eval_samples: int = 50000, hidden: int = 64, lr: float = 1e-3, strategy: str = "one",
) -> DivergenceEstimate:
    """``strategy`` as ``--strategy`` on train: under N replicas each critic step splits the global batch
    ``batch_size`` between them, with the bound divided among them, so the critic trains as on one device."""
    import keras
    import tensorflow as tf

    from img2img.distribute import global_batches, replica_share, strategy_for

    loss = parse_loss_spec(loss_spec, plugins.losses)
    if not isinstance(loss, FDivergence):
        names = ", ".join(n for n, obj, _ in plugins.losses.items() if isinstance(obj, FDivergence))
        raise Img2ImgError(f"--loss {loss_spec}: not an f-divergence, so it has no variational bound; "
                           f"choose one of {names}")
    devices = strategy_for(strategy)  # first: a split CPU must be set before TensorFlow's runtime starts
    if batch_size % devices.num_replicas_in_sync:
        raise Img2ImgError(f"--batch-size {batch_size} does not split evenly over "
                           f"{devices.num_replicas_in_sync} replicas; use a multiple of {devices.num_replicas_in_sync}")
    keras.utils.set_random_seed(seed)

    def load(spec: str, seed: int, channels: int | None, part: str = "train") -> ImageData:
        """P uses ``seed`` and Q ``seed + 1``; held-out parts are read once, in order."""
        streaming = part == "train"
        request = DataRequest(image_size=image_size, channels=channels, seed=seed, shuffle=streaming,
                              repeat=streaming, holdout_fraction=holdout, part=part)
        return load_source(spec, request, plugins.datasets)

    p_train = load(p_spec, seed, None)
    channels = p_train.channels or None  # Q is read with P's channels, so the critic sees like with like
    q_train = load(q_spec, seed + 1, channels)
    if p_train.kind != q_train.kind or (p_train.sample_shape and p_train.sample_shape != q_train.sample_shape):
        raise Img2ImgError(f"{p_spec} and {q_spec} hold different kinds of samples; compare like with like")
    shape = p_train.sample_shape or (image_size, image_size, p_train.channels)
    with devices.scope():
        critic = _critic(shape, hidden, seed)
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.05))
        optimizer.build(critic.trainable_variables)  # in the scope (reference.md, "Distributed training")

    def replica_step(xp: Any, xq: Any) -> Any:
        with tf.GradientTape() as tape:
            value = loss.discriminator_loss(critic(xp, training=True), critic(xq, training=True))
            share = replica_share(value)
        optimizer.apply_gradients(zip(tape.gradient(share, critic.trainable_variables),
                                      critic.trainable_variables, strict=True))
        return -value

    @tf.function(autograph=False)  # losses are written for tracing as Keras traces them, without autograph
    def train_step(batches: Any) -> Any:
        bounds = devices.run(replica_step, args=batches)
        return devices.reduce(tf.distribute.ReduceOp.MEAN, bounds, axis=None)

    pairs = tf.data.Dataset.zip((_stream(p_train), _stream(q_train))).batch(batch_size, drop_remainder=True)
    batches = global_batches(devices, pairs)
    bound = float("nan")
    for _ in range(steps):
        bound = float(train_step(next(batches)))
    if not math.isfinite(bound):
        raise Img2ImgError(f"the critic's bound became {bound} during training; try a lower --lr")

    held = [load(p_spec, seed, channels, "holdout"), load(q_spec, seed + 1, channels, "holdout")]
    terms = []
    for data, term in zip(held, (loss.activation, loss.conjugate_of_activation), strict=True):
        values = []
        for batch in _batches(data, 1024, drop_remainder=False):
            values.append(np.asarray(term(critic(batch, training=False))).ravel())
            if sum(len(v) for v in values) >= eval_samples:
                break
        held_out = np.concatenate(values)[:eval_samples].astype(np.float64) if values else np.zeros(0)
        if len(held_out) < 2:  # a spread needs two
            raise Img2ImgError("too few held-out samples to estimate the divergence; use more data or --holdout")
        terms.append(held_out)
    a, b = terms
    estimate = a.mean() - b.mean()
    half_width = 1.96 * math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return DivergenceEstimate(loss.name, float(estimate), float(half_width), min(len(a), len(b)), steps, bound,
                              devices.num_replicas_in_sync)
