"""Benchmarks (`make bench-engine`, `make bench`): they print numbers, they are not tests."""
