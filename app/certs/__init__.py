"""Certificates: a small CA and serving certificates (dev certs, in-cluster `certs ensure`)."""
