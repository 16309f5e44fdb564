"""--precision auto: mixed precision only where the hardware computes the narrower type faster (issue 22)."""

from __future__ import annotations

import json

import pytest

import img2img.devices as devices


def test_cpu_flags_come_from_proc_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx512f avx512_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert devices.cpu_flags(info) == {"fpu", "sse2", "avx512f", "avx512_bf16"}
    assert devices.cpu_flags(tmp_path / "missing") == set()
    assert devices.fast_bfloat16_cpu({"avx512_bf16"}) and devices.fast_bfloat16_cpu({"amx_bf16", "amx_tile"})
    assert not devices.fast_bfloat16_cpu({"avx2", "avx512f", "fma"})  # AVX-512 without BF16: float32


@pytest.mark.parametrize(("gpu", "tensor_cores", "fast_cpu", "auto", "mixed"), [
    (False, False, True, "mixed_bfloat16", "mixed_bfloat16"),  # AMX / AVX-512 BF16 CPU
    (False, False, False, "float32", "mixed_bfloat16"),  # AVX2-only CPU: auto stays float32
    (True, True, False, "mixed_float16", "mixed_float16"),  # GPU with tensor cores
    (True, False, True, "float32", "mixed_float16"),  # older GPU: auto stays float32, the CPU does not count
])
def test_auto_chooses_by_hardware(monkeypatch, gpu, tensor_cores, fast_cpu, auto, mixed):
    monkeypatch.setattr(devices, "gpus_with_tensor_cores", lambda: (gpu, tensor_cores))
    monkeypatch.setattr(devices, "fast_bfloat16_cpu", lambda flags=None: fast_cpu)
    assert devices.choose_policy("auto") == auto
    assert devices.choose_policy("mixed") == mixed
    assert devices.choose_policy("float32") == "float32"
    slow = devices.slow_policy_warning(auto)
    assert slow is None  # what auto picks is never slow where it picked it


def test_a_stored_policy_this_machine_computes_slowly_is_named(monkeypatch):
    monkeypatch.setattr(devices, "gpus_with_tensor_cores", lambda: (False, False))
    monkeypatch.setattr(devices, "fast_bfloat16_cpu", lambda flags=None: False)
    assert "no fast bfloat16 (AMX or AVX-512 BF16)" in devices.slow_policy_warning("mixed_bfloat16")
    assert "there is no GPU" in devices.slow_policy_warning("mixed_float16")
    assert devices.slow_policy_warning("float32") is None


def test_auto_is_the_default_stored_as_asked_and_a_resumed_run_keeps_its_policy(
        cli_run, digits, tmp_path, monkeypatch):
    """A new run records 'auto' and the policy it resolved to; resumed where auto would choose otherwise,
    it keeps the stored policy (float16 runs hold loss-scale state) and says it will be slow."""
    import keras
    from conftest import FAST

    monkeypatch.setattr(devices, "gpus_with_tensor_cores", lambda: (False, False))
    monkeypatch.setattr(devices, "fast_bfloat16_cpu", lambda flags=None: True)
    out = tmp_path / "run"
    try:
        first = cli_run("train", "dcgan", "--data", digits, *FAST, "--steps", "2", "--out", out)
        training = json.loads((out / "config.json").read_text())["training"]
        assert training["precision"] == "auto" and training["policy"] == "mixed_bfloat16"
        assert "precision mixed_bfloat16 (--precision auto on this hardware)" in first.output
        monkeypatch.setattr(devices, "fast_bfloat16_cpu", lambda flags=None: False)
        again = cli_run("train", "dcgan", "--out", out, "--resume", "--steps", "3")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert "precision mixed_bfloat16" in again.output and "no fast bfloat16" in again.output
    assert json.loads((out / "config.json").read_text())["training"]["policy"] == "mixed_bfloat16"


@pytest.mark.parametrize(("setting", "branches", "cores", "gpu", "split"), [
    ("auto", True, 2, False, (2, 1)),  # CycleGAN on this project's 2-core machines: two ops, one core each
    ("auto", True, 16, False, (2, 8)),
    ("auto", False, 2, False, None),  # a chain of big ops (DCGAN at batch 64) keeps TensorFlow's pools
    ("auto", True, 2, True, None),  # with GPUs the CPU only feeds them
    ("auto", True, 1, False, None),  # one core has nothing to split
    ("split", False, 4, False, (2, 2)),
    ("split", False, 4, True, (2, 2)),
    ("tensorflow", True, 2, False, None),
])
def test_cpu_threads_split_the_cores_only_for_steps_of_concurrent_branches(setting, branches, cores, gpu, split):
    assert devices.cpu_thread_split(setting, branches, cores, gpu) == split


def test_cpu_threads_refuses_an_unknown_setting():
    with pytest.raises(ValueError, match="cpu_threads must be one of"):
        devices.cpu_thread_split("many", True, 2, False)


@pytest.mark.slow
def test_cpu_threads_are_applied_before_tensorflow_starts_and_kept_after():
    """In a fresh process the split reaches TensorFlow's pools; once its runtime has started (a second run in
    one process), the pools it started with stay, and the words say so rather than claim a change."""
    import subprocess
    import sys

    probe = (
        "import json, tensorflow as tf\n"
        "from img2img.devices import set_cpu_threads, usable_cores\n"
        "said = set_cpu_threads('split', False)\n"
        "tf.constant(1.0) + 1.0  # starts the runtime\n"
        "pools = [tf.config.threading.get_inter_op_parallelism_threads(),\n"
        "         tf.config.threading.get_intra_op_parallelism_threads()]\n"
        "print(json.dumps({'said': said, 'pools': pools, 'cores': usable_cores(),\n"
        "                  'again': set_cpu_threads('tensorflow', False)}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    if seen["cores"] < 2:
        pytest.skip("one usable core: nothing to split")
    intra = seen["cores"] // 2
    assert seen["pools"] == [2, intra]
    threads = f"{intra} thread{'s' if intra > 1 else ''}"
    assert seen["said"] == f"CPU cores split: 2 ops at a time, {threads} each"
    assert seen["again"] == f"TensorFlow's CPU threads as this process started them: 2 ops at a time, {threads} each"
