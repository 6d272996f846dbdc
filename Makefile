# The two commands of this repository: `make demo` (the main job) and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: setup test demo ablations bench feature-bench gpu-wheels

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -r requirements.txt
	touch $@

test: setup
	$(PY) -m pytest -q tests

# Synthetic dataset -> frames -> train dllfa, meanP and seqTransf from scratch -> table, figures, README.
demo: setup
	bash scripts/demo.sh
	$(PY) scripts/sync_readme.py

# Every head and DLLFA ablation on the pixel demo and on the feature-level benchmark -> one table -> README.
ablations: setup
	bash scripts/ablations.sh
	$(PY) scripts/sync_readme.py

# Benchmarks at CPU sizes -> bench/results.{md,json}, bench/optimizer_step.md -> README (performance, recipe card).
bench: setup
	$(PY) -m bench.run_all
	$(PY) scripts/sync_readme.py

# Every head trained on generated CLIP-width features -> bench/feature_level_results.{md,json} -> README.
feature-bench: setup
	$(PY) -m bench.feature_level
	$(PY) scripts/sync_readme.py

# Wheels that bench/gpu_check.sh installs on a GPU machine that has PyTorch but not these.
gpu-wheels: setup
	$(VENV)/bin/pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d .whl open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth
