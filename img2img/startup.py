"""Python's cyclic garbage collector paused while a training run starts.

Importing TensorFlow and Keras, building the networks and tracing the training step allocate millions of
long-lived objects and almost no garbage cycles, yet the collector keeps rescanning them: 0.6-0.7 s of the
CycleGAN's first step at 64 px went to it (measured with ``gc.callbacks``; six full passes). ``img2img
train`` pauses it until the first step has run; then one collection frees what start-up left behind, the
survivors are frozen (never rescanned) and collection resumes, so a long run's memory stays bounded.
"""

from __future__ import annotations

import gc

_paused = False


def pause_collection() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """Undo ``pause_collection``; does nothing when it did not pause the collector (e.g. in library use)."""
    global _paused
    if _paused:
        _paused = False
        gc.collect()
        gc.freeze()
        gc.enable()
