# The two commands of this repository: `make demo` (the main job) and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: setup test demo demo-seeds ablations bench feature-bench docs gpu-wheels

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -r requirements.txt
	touch $@

test: setup
	$(PY) -m pytest -q tests

# The commands that produce results write under runs/ only (ignored by git); `make docs` is the
# one step that copies them into the repository and pastes them into README.md and docs/.

# Synthetic dataset -> frames -> train dllfa, meanP and seqTransf from scratch -> runs/demo/ (table, figures).
demo: setup
	bash scripts/demo.sh

# The demo over three training seeds (42 7 1) on the same data, one run per CPU at a time on one thread
# each -> runs/demo_seeds/seeds.{md,json} (mean ± std).
demo-seeds: setup
	bash scripts/demo_seeds.sh

# Every head and DLLFA ablation on the pixel demo (three seeds) and on the feature-level benchmark
# (the results of feature-bench, run if missing) -> runs/ablations/ablations.md.
ablations: setup
	bash scripts/ablations.sh

# Benchmarks at CPU sizes -> runs/bench/results.{md,json}, runs/bench/optimizer_step.md.
bench: setup
	$(PY) -m bench.run_all

# Every head trained on generated CLIP-width features over three training seeds, two at a time
# on one thread each, each head probed on four test pools -> runs/feature_level/results.{md,json}.
feature-bench: setup
	$(PY) -m bench.feature_level --jobs 2 --threads 1

# runs/ results -> bench/*.md|json, img/*.png -> the generated sections of README.md and docs/*.md.
docs: setup
	$(PY) -m scripts.sync_docs

# Wheels that bench/gpu_check.sh installs on a GPU machine that has PyTorch but not these.
gpu-wheels: setup
	$(VENV)/bin/pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d .whl open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth
