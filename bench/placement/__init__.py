"""Placement benchmarks: exactness of the greedy scheduler, and speed."""
