"""Fixtures for the chart tests (the real Helm binary and a caching renderer)."""

from chart_rendering import helm, render

__all__ = ["helm", "render"]
