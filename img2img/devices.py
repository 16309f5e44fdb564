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


def set_graph_optimizer(setting: str = "auto") -> bool:
    """Turn TensorFlow's graph optimiser (Grappler) on or off for the functions traced from now on.

    On a CPU it spends seconds rewriting a GAN's training graph (about 6 s of the first CycleGAN step at
    64 px, `TF_CPP_VMODULE=meta_optimizer=1`) and saved no time per step in bench/cyclegan_speed.py, so
    ``auto`` turns it off there; on a GPU its layout and memory passes matter, so ``auto`` keeps it.
    The setting is process-wide, hence set again by every run.
    """
    import tensorflow as tf

    if setting not in ("auto", "true", "false"):
        raise ValueError(f"grappler must be auto, true or false, not {setting!r}")
    enabled = bool(tf.config.list_physical_devices("GPU")) if setting == "auto" else setting == "true"
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": not enabled})
    return enabled
