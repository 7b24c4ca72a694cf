"""Benchmarks: ``python bench/run.py`` (CPU ratios) and ``python bench/gpu.py`` (GPU numbers)."""
