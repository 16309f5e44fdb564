"""Benchmarks: scripts that measure, grouped by what they measure (speed/, memory/, quality/, robustness/).

Run one from the repository root as a module, e.g. ``python -m bench.speed.cyclegan_speed --help``. They
share ``bench.harness`` (the CPU line, timing, peak memory, result tables, another checkout to compare
against) and ``bench.data`` (the real data sets they train and score on). CI does not run them.
"""
