"""netpol-guard: organisational rules for Kubernetes NetworkPolicy objects, at admission and in CI."""

__version__ = "0.1.0"
