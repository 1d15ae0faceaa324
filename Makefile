# Every target the README uses. The virtual environment and the artifacts are
# built on demand, so a fresh clone needs only Python 3.11 and make.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
ARTIFACTS ?= build/artifacts
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: lambda-smoke install artifacts explainer-env explainer demo serve test lint typecheck bench bench-explainer evaluate-explainer finetune report lambda-package clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --quiet --upgrade pip
	$(PY) -m pip install --quiet --quiet -e '.[serving,export,dev]'
	touch $@

install: $(VENV)/.installed

artifacts: install
	$(PY) -m export.build_all --out $(ARTIFACTS)

# The generative explainer is built in its own venv (build/explainer-env),
# because the onnxruntime-genai model builder needs transformers 5.
explainer-env: install
	$(PY) -m export.export_explainer --env-only

explainer: install
	$(PY) -m export.export_explainer --out $(ARTIFACTS)/explainer

demo: artifacts
	$(PY) -m functions.demo --artifacts $(ARTIFACTS) --host $(HOST) --port $(PORT)

serve: artifacts
	$(PY) -m functions.local --artifacts $(ARTIFACTS) --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

bench: artifacts
	$(PY) -m bench.bench_encoder --artifacts $(ARTIFACTS)
	$(PY) -m bench.bench_recommend --artifacts $(ARTIFACTS)
	$(PY) -m bench.bench_ranker --artifacts $(ARTIFACTS)
	$(PY) -m bench.bench_explainer --artifacts $(ARTIFACTS)

# Builds the int8 and optimum fp32 variants into build/explainer-variants on first use.
bench-explainer: artifacts
	$(PY) -m bench.bench_explainer --artifacts $(ARTIFACTS)

finetune: artifacts
	$(PY) -m export.finetune_encoder --artifacts $(ARTIFACTS)

# The held-out evaluation with plots. `make finetune report
# FINETUNED=build/artifacts/encoder_finetuned` adds the fine-tuned encoder.
report: artifacts
	$(PY) -m export.report --artifacts $(ARTIFACTS) --out docs/evaluation.md \
		$(if $(FINETUNED),--finetuned $(FINETUNED))

# 240 real explanations with faithfulness, fallback, length and latency.
evaluate-explainer: artifacts
	$(PY) -m export.evaluate_explainer --artifacts $(ARTIFACTS) --out docs/explainer-evaluation.md

lambda-package: artifacts
	$(PY) -m infra.package_lambda --artifacts $(ARTIFACTS) --out build/lambda

# Serve one request from the Lambda package on the runtime's Python
# (python3.12 in template.yaml), in build/lambda-venv. Needs that interpreter.
LAMBDA_PYTHON ?= python3.12
lambda-smoke: lambda-package
	$(LAMBDA_PYTHON) -m venv build/lambda-venv
	build/lambda-venv/bin/pip install --quiet -r build/lambda/requirements.txt boto3
	cd build/lambda && ../lambda-venv/bin/python ../../infra/smoke_lambda.py ../../tests/events/apigw_v1_recommend.json

clean:
	rm -rf build
