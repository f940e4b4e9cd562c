# One image for every adaptd process: `adaptd serve` (API) and `adaptd worker` (GPU training).
# Lint: hadolint Dockerfile (tests/test_deployment_files.py runs it; .hadolint.yaml says why
# a rule is off).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    ADAPTD_DATA_DIR=/data

WORKDIR /srv/adaptd

# torch first and pinned: the PyPI build carries CUDA for the GPU workers and runs on CPU too.
ARG TORCH_VERSION=2.13.0
RUN pip install "torch==${TORCH_VERSION}"

COPY pyproject.toml README.md alembic.ini ./
# The `adaptd` command and the SDK (adaptd-client); the server adds its commands to it.
COPY client ./client
COPY app ./app
COPY workers ./workers
COPY migrations ./migrations
# ONNX Runtime serves accelerated models; `--build-arg ONNXRUNTIME=onnxruntime-gpu` swaps in
# the CUDA build, which the `fp16` method needs.
ARG ONNXRUNTIME=onnxruntime
RUN pip install ./client . \
    && if [ "${ONNXRUNTIME}" != "onnxruntime" ]; then \
        pip uninstall -y onnxruntime && pip install "${ONNXRUNTIME}"; \
    fi \
    && useradd --create-home --uid 10001 adaptd \
    && mkdir -p /data \
    && chown adaptd /data

USER 10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
CMD ["adaptd", "serve", "--host", "0.0.0.0", "--port", "8000"]
