# porelab: `make test` sets everything up and runs the tests.
PYTHON      ?= python3
VENV        ?= .venv
TORCH_SPEC  ?= torch==2.13.0
PIP_EXTRA   ?=
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.porelab-installed
PYTEST_ARGS ?=

.PHONY: setup test cv clean-venv

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml (the dependency list) changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) -e ".[dev]"
	touch $(STAMP)

# One BLAS/OpenMP thread per process: tests run torch beside Ray workers on few cores, and
# oversubscribed threads made training steps 10-20x slower on a 2-core machine.
test: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

# The main job on a laptop: the demo dataset (simulated once, then verified and reused) and the
# 5-fold cross-validation of every model on a local Ray; report in runs/cv-demo/report.html.
DATA     ?= data/am
CV_ARGS  ?=
cv: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/porelab simulate --preset am-cylinders --profile demo --out $(DATA)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python jobs/cv.py --profile demo --data $(DATA) \
		--out runs/cv-demo --registry runs/registry $(CV_ARGS)

clean-venv:
	rm -rf $(VENV)
