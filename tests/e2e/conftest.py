"""Fixtures for the end-to-end suite: `guard` on the loopback control plane (tests/controlplane, see
guard.py), `cluster` on kind (e2e_cluster.py, needs Docker)."""

from __future__ import annotations

import pytest
from controlplane.fixtures import GuardedCluster
from e2e_cluster import cluster
from guard import Guard, guard_for

__all__ = ["cluster", "guard"]


@pytest.fixture(scope="session")
def guard(guarded_cluster: GuardedCluster, tmp_path_factory: pytest.TempPathFactory) -> Guard:
    return guard_for(guarded_cluster.plane, guarded_cluster.webhook, tmp_path_factory.mktemp("e2e-rules"))
