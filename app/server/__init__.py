"""The admission server: webhook and probe FastAPI apps, metrics, TLS context and hot reload, the runner.

Nothing here imports the kubernetes client: the server only speaks AdmissionReview over HTTPS.
"""
