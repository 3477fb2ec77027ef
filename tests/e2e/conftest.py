"""Fixtures for the end-to-end suite (see e2e_cluster.py)."""

from e2e_cluster import cluster

__all__ = ["cluster"]
