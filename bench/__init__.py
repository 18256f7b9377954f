"""Benchmarks: each runs its subject side by side with a baseline in one process and reports ratios."""
