"""The control-plane fixtures (tests/controlplane/fixtures.py) for every test directory."""

pytest_plugins = ["controlplane.fixtures"]
