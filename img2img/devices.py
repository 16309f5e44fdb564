"""Which device TensorFlow trains on, and the precision policy."""

from __future__ import annotations

PRECISIONS = ("float32", "mixed")


def describe_devices() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU (TensorFlow sees no GPU)"
    names = []
    for gpu in gpus:
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except (ValueError, RuntimeError):
            details = {}
        names.append(f"{gpu.name.replace('/physical_device:', '')} ({details.get('device_name', 'GPU')})")
    return ", ".join(names)


def choose_policy(precision: str) -> str:
    """'mixed' means float16 compute on a GPU, bfloat16 on a CPU; variables stay float32 either way."""
    import tensorflow as tf

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    if precision == "float32":
        return "float32"
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


def set_policy(policy: str) -> str:
    import keras

    keras.mixed_precision.set_global_policy(policy)
    return policy
