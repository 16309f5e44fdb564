"""--set jit_compile (issue 22): where XLA compiles the step, where it cannot, and what the start line says."""

from __future__ import annotations

import pytest

from img2img.errors import Img2ImgError
from img2img.xla import check_jit_compile, describe_jit_compile


@pytest.mark.parametrize("replicas, multi_worker, where", [(2, False, "2 replicas"), (8, False, "8 replicas"),
                                                           (1, True, "--strategy multi-worker"),
                                                           (2, True, "--strategy multi-worker")])
def test_xla_over_several_replicas_is_refused_with_what_to_do(replicas, multi_worker, where):
    with pytest.raises(Img2ImgError, match=f"XLA cannot compile a step over {where}") as refused:
        check_jit_compile("true", replicas, multi_worker)
    assert "--strategy one" in str(refused.value) and "--set jit_compile=auto" in str(refused.value)


@pytest.mark.parametrize("setting, replicas, multi_worker", [("true", 1, False), ("auto", 2, False),
                                                             ("auto", 1, True), ("false", 4, False)])
def test_what_xla_can_do_or_leaves_off_passes(setting, replicas, multi_worker):
    check_jit_compile(setting, replicas, multi_worker)


@pytest.mark.parametrize("setting, compiled, gpu, replicas, multi_worker, said", [
    ("auto", False, False, 1, False, ""),  # a CPU at the default: XLA off, as the docs say, nothing to add
    ("auto", False, False, 2, False, ""),
    ("auto", True, True, 1, False, "XLA on (--set jit_compile=false turns it off)"),
    ("true", True, False, 1, False, "XLA on"),
    ("false", False, True, 1, False, "XLA off (--set jit_compile=false)"),
    ("false", False, False, 1, False, "XLA off (--set jit_compile=false)"),
    ("auto", False, True, 2, False, "XLA off (a step over several replicas is not compiled: keras-team/keras#19005)"),
    ("auto", False, True, 1, True, "XLA off (a step over several replicas is not compiled: keras-team/keras#19005)"),
    ("auto", False, True, 1, False, "XLA off (Keras found a layer of this model that XLA cannot compile)"),
])
def test_the_start_line_says_whether_xla_compiles_the_step(setting, compiled, gpu, replicas, multi_worker, said):
    assert describe_jit_compile(setting, compiled, gpu, replicas, multi_worker) == said
