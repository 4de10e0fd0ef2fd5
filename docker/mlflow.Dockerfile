# syntax=docker/dockerfile:1
# The MLflow tracking server, pinned to the version CI tests against (.ci/run).
FROM python:3.11-slim
ARG MLFLOW_VERSION=3.17.2
RUN pip install --no-cache-dir "mlflow==${MLFLOW_VERSION}"
EXPOSE 5000
