"""The `dist` fixture: the wheel and sdist of this tree (tests/packaging/release_artifacts.py)."""

from release_artifacts import dist

__all__ = ["dist"]
