# Quick start: `make demo` (inspection only, no torch) and `make test` (training extras + suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --quiet --disable-pip-version-check
CRAFTVISION := $(VENV)/bin/craftvision
# torch comes from the wheels already on these machines; see DEVELOPERS.md.
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test lint reference-models clean

$(VENV)/.core: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.train: $(VENV)/.core
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[train,dev]"
	touch $@

demo: $(VENV)/.core
	$(CRAFTVISION) models
	$(CRAFTVISION) inspect samples/fibre samples/weave samples/stitch --model auto \
	  --out runs/demo/photos.jsonl
	$(CRAFTVISION) inspect --sample samples/product --out runs/demo/product.jsonl
	@echo "results also written as JSON Lines to runs/demo/photos.jsonl and runs/demo/product.jsonl"

test: $(VENV)/.train
	$(PY) -m ruff check craftvision tests bench scripts
	$(PY) -m pytest -q

lint: $(VENV)/.train
	$(PY) -m ruff check craftvision tests bench scripts
	$(PY) -m ruff format --check craftvision tests bench scripts

# Retrain the shipped reference models from their recipes and copy them into the package:
# recipes/M.yaml, then any fine-tune stages recipes/M-finetune.yaml, M-finetune2.yaml, ... in
# order, each continuing from the one before; the best weights of the last stage's `out:` run are
# shipped as an int8 bundle (`craftvision export --int8`, refused if it loses test accuracy).
MODALITIES := fibre weave stitch
reference-models: $(VENV)/.train
	for m in $(MODALITIES); do \
	  for recipe in recipes/$$m.yaml $$(ls recipes/$$m-finetune*.yaml 2>/dev/null | sort -V); do \
	    $(CRAFTVISION) train --config $$recipe || exit 1; \
	    run=$$(sed -n 's/^out: *//p' $$recipe); \
	  done; \
	  $(CRAFTVISION) export $$run/best.ckpt --int8 --out craftvision/models/zoo/$$m.onnx || exit 1; \
	done

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
