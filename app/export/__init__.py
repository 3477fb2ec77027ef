"""Exports of a rules file to other enforcement points (today: ValidatingAdmissionPolicy, `export vap`).

Offline only: nothing here imports a Kubernetes client, so `check`-style installs can export too.
"""
