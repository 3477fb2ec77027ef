"""Fixtures for the real-server tests; the helpers live in server_harness.py (importable by name)."""

from server_harness import netpol_guard, pki, start_server

__all__ = ["netpol_guard", "pki", "start_server"]
