"""Which device TensorFlow trains on, and the precision policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRECISIONS = ("auto", "float32", "mixed")
# CPU flags (Linux /proc/cpuinfo names) of matrix or vector units that multiply bfloat16 at more than the
# float32 rate: Intel AMX, and AVX-512 BF16 (Intel Cooper Lake and later, AMD Zen 4 and later).
FAST_BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")
TENSOR_CORES = (7, 0)  # compute capability from which GPUs multiply float16 on tensor cores (Volta)


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


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags as Linux names them; empty where there is no /proc/cpuinfo."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return set()
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def fast_bfloat16_cpu(flags: set[str] | None = None) -> bool:
    return bool(set(FAST_BFLOAT16_FLAGS) & (cpu_flags() if flags is None else flags))


def gpus_with_tensor_cores() -> tuple[bool, bool]:
    """(any GPU, every GPU has tensor cores)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    capabilities = []
    for gpu in gpus:
        try:
            capabilities.append(tuple(tf.config.experimental.get_device_details(gpu).get("compute_capability", ())))
        except (ValueError, RuntimeError):
            capabilities.append(())
    return bool(gpus), bool(gpus) and all(c >= TENSOR_CORES for c in capabilities)


def choose_policy(precision: str) -> str:
    """The Keras dtype policy for ``--precision``: 'mixed' is float16 compute on a GPU and bfloat16 on a
    CPU; 'auto' is mixed only where the hardware multiplies in the narrower type faster (tensor cores, AMX
    or AVX-512 BF16), float32 elsewhere. Variables stay float32 either way."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    if precision == "float32":
        return "float32"
    gpu, tensor_cores = gpus_with_tensor_cores()
    if precision == "mixed":
        return "mixed_float16" if gpu else "mixed_bfloat16"
    if gpu:
        return "mixed_float16" if tensor_cores else "float32"
    return "mixed_bfloat16" if fast_bfloat16_cpu() else "float32"


def slow_policy_warning(policy: str) -> str | None:
    """What to tell a user whose resumed run keeps a policy this machine computes slowly."""
    gpu, tensor_cores = gpus_with_tensor_cores()
    if policy == "mixed_bfloat16" and not gpu and not fast_bfloat16_cpu():
        return ("this run computes in mixed_bfloat16 (its stored precision), but this CPU has no fast bfloat16 "
                "(AMX or AVX-512 BF16): it will run, slower than float32; its checkpoints stay as they are")
    if policy == "mixed_float16" and not tensor_cores:
        return ("this run computes in mixed_float16 (its stored precision), but " +
                ("this GPU has no tensor cores" if gpu else "there is no GPU") +
                ": it will run, slower than float32; its checkpoints stay as they are")
    return None


def set_policy(policy: str) -> str:
    import keras

    keras.mixed_precision.set_global_policy(policy)
    return policy


@contextmanager
def policy_scope(policy: str) -> Iterator[str]:
    """Build under ``policy`` (Keras' policy is process-wide), then put back the one before."""
    import keras

    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(before)


CPU_THREADS = ("auto", "split", "tensorflow")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and ``taskset`` narrow)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_thread_split(setting: str, concurrent_branches: bool, cores: int, gpu: bool) -> tuple[int, int] | None:
    """(ops at a time, threads per op) that ``--set cpu_threads`` asks for here, or None for TensorFlow's
    own pools (as many threads as cores in each, so two ops at once oversubscribe the cores).

    Splitting pays when a step is many small independent ops: CycleGAN at batch 1 on 2 cores. A model whose
    step is a chain of big ops (DCGAN at batch 64) loses with it, since half the cores then idle through the
    chain, hence ``auto`` splits only for models that declare ``concurrent_branches``. With GPUs the CPU
    only feeds them: TensorFlow's pools stay."""
    if setting not in CPU_THREADS:
        raise ValueError(f"cpu_threads must be one of {CPU_THREADS}, not {setting!r}")
    wanted = setting == "split" or (setting == "auto" and concurrent_branches and not gpu)
    if not wanted or cores < 2:
        return None
    return 2, cores // 2


def set_cpu_threads(setting: str, concurrent_branches: bool) -> str:
    """Apply ``cpu_threads`` to TensorFlow's thread pools; returns what is in effect, in words ("" for
    TensorFlow's own pools). The pools are fixed when TensorFlow's runtime starts, so this runs before
    anything lists devices or runs an op; in a process where it has already started (a second run in a
    notebook or a benchmark), the pools it started with stay, and the words say so."""
    import tensorflow as tf

    gpu = bool(tf.config.list_physical_devices("GPU"))
    split = cpu_thread_split(setting, concurrent_branches, usable_cores(), gpu)
    inter, intra = split or (0, 0)
    try:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    except RuntimeError:  # the runtime has started: its pools stay
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        started = "TensorFlow's CPU threads as this process started them"
        return f"{started}: {_split_words(inter, intra)}" if inter or intra else started
    return f"CPU cores split: {_split_words(inter, intra)}" if split else ""


def _split_words(inter: int, intra: int) -> str:
    """'2 ops at a time, 1 thread each'; 0 is TensorFlow's own choice (as many as there are cores)."""
    threads = "all cores" if not intra else f"{intra} thread" + ("s" if intra > 1 else "")
    return f"{inter or 'as many'} ops at a time, {threads} each"


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
