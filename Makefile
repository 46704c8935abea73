# porelab: `make test` sets everything up and runs the tests.
PYTHON      ?= python3
VENV        ?= .venv
TORCH_SPEC  ?= torch==2.13.0
PIP_EXTRA   ?=
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.porelab-installed
PYTEST_ARGS ?=

.PHONY: setup test cv cv-randomized clean-venv

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

# Reinstall only when pyproject.toml (the dependency list) changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq $(PIP_EXTRA) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -qq $(PIP_EXTRA) -e ".[dev]"
	touch $(STAMP)

# One BLAS/OpenMP thread per process: tests run torch beside Ray workers on few cores, and
# oversubscribed threads made training steps 10-20x slower on a 2-core machine.
# Lint and format check (ruff) and the layering contracts (import-linter, in pyproject.toml)
# first: seconds.
test: setup
	$(BIN)/ruff check platform jobs bench tests
	$(BIN)/ruff format --check platform jobs bench tests
	$(BIN)/lint-imports
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

# The main job on a laptop: the demo dataset (simulated once, then verified and reused) and the
# 5-fold cross-validation of every model on a local Ray; report in runs/cv-demo/report.html.
DATA     ?= data/am
CV_ARGS  ?=
cv: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/porelab simulate --preset am-cylinders --profile demo --out $(DATA)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python jobs/cv.py --profile demo --data $(DATA) \
		--out runs/cv-demo --registry runs/registry $(CV_ARGS)

# The cross-validation's second arm, added to the same run: the supervised models trained on the
# am-randomized set (simulated once, ~5 min) and scored on the same folds and challenging scan
# (the paper arm's finished trials are kept; about 15 more minutes on 2 cores).
RANDOMIZED ?= data/am-randomized
ARM_MODELS ?= unet unetpp unet3plus mss_unet
cv-randomized: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/porelab simulate --preset am-cylinders --profile demo --out $(DATA)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/porelab simulate --preset am-randomized --out $(RANDOMIZED)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python jobs/cv.py --profile demo --data $(DATA) \
		--out runs/cv-demo --registry runs/registry --randomized $(RANDOMIZED) \
		--randomized-models $(ARM_MODELS) $(CV_ARGS)

clean-venv:
	rm -rf $(VENV)
