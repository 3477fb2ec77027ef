# syntax=docker/dockerfile:1
# netpol-guard: build stage installs into /opt/venv; the runtime stage copies only that venv onto a slim
# Python (no compilers, no pip, no caches), runs as 65532:65532 and needs no writable root filesystem.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first: this layer is rebuilt only when pyproject.toml (or the install script) changes.
COPY pyproject.toml ./
COPY scripts/install_runtime.py scripts/
RUN python scripts/install_runtime.py /opt/venv deps
# README.md is the package's long description: needed to build the project, not its dependencies.
COPY README.md ./
COPY app/ app/
RUN python scripts/install_runtime.py /opt/venv project

FROM ${PYTHON_IMAGE} AS runtime
# The base image's own pip is not needed at run time either.
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel 2>/dev/null; \
    rm -rf /root/.cache /usr/local/bin/pip*
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["netpol-guard"]
CMD ["serve"]
