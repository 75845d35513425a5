"""Benchmarks (DESIGN.md §3): `python bench/<name>.py`, baselines measured in the same run."""
