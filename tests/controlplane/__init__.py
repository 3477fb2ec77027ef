"""A real Kubernetes control plane on loopback for tests and `make cluster` (see README.md here).

Modules: kubetools (build the binaries), pki (the cluster's certificates), processes (children that cannot
outlive their owner), cluster (etcd, kube-apiserver, kube-controller-manager, kubectl), webhook (netpol-guard
served locally and the chart's webhook pointed at it), fixtures (the pytest fixtures), devcluster
(`make cluster`). Only kubetools is standard-library-only: it runs before the virtual environment exists.
"""
