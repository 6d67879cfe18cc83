# The two set-up commands of the README: `make up` (the services on the embedded default) and
# `make test` (the test suite). Both create the virtual environment on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
PROTO_FILES := $(shell find protos -name '*.proto' | sort)

.PHONY: venv up up-detached down test protos check-protos docs check-docs lint bench demo clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[server,test]'
	touch $@

venv: $(VENV)/.installed

## Start the platform on the embedded default (SQLite file + ./mlgrpc-artifacts).
up: venv
	$(VENV)/bin/mlgrpc up

## The same in the background: returns once every service is SERVING (logs, pid file: .mlgrpc/).
up-detached: venv
	$(VENV)/bin/mlgrpc up --detach

## Stop what `make up-detached` started.
down:
	$(VENV)/bin/mlgrpc down

## Run the whole test suite (needs MariaDB on 127.0.0.1:3306, root, empty password).
test: venv
	$(PY) -m pytest -q

## Regenerate the Python stubs of every contract in protos/ into client/.
protos: venv
	$(PY) -m grpc_tools.protoc -Iprotos \
	  --python_out=client --grpc_python_out=client \
	  --mypy_out=client --mypy_grpc_out=client \
	  $(PROTO_FILES)
	find client/mlgrpc -mindepth 1 -type d ! -name __pycache__ \
	  -exec sh -c 'test -e "$$1/__init__.py" || touch "$$1/__init__.py"' _ {} \;

## Fail when the committed stubs differ from what the protos generate.
check-protos: protos
	git diff --exit-code -- client/ || (echo "generated stubs are stale: run make protos" && exit 1)
	test -z "$$(git ls-files --others --exclude-standard client/)" || \
	  (echo "untracked generated files: run make protos and commit" && exit 1)

## Regenerate docs/api.md from the protos' comments.
docs: venv
	$(PY) docs/gen_api.py

check-docs: docs
	git diff --exit-code -- docs/api.md || (echo "docs/api.md is stale: run make docs" && exit 1)

lint: venv
	npx --yes buf lint
	npx --yes buf format --exit-code
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) -m bench.run_all

## The whole story on a throw-away local stack: train, register, serve, predict, compare.
demo: venv
	$(VENV)/bin/mlgrpc demo

clean:
	rm -rf $(VENV) .pytest_cache mlgrpc.db mlgrpc-artifacts .mlgrpc
