# Two commands for a fresh machine (see README):
#   make report   install into .venv, then run the default study (snakemake --cores 4)
#   make test     install into .venv, then run the test suite
# The virtual environment is created on first use and refreshed when
# pyproject.toml, constraints.txt or this Makefile change.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 4
STAMP  := $(VENV)/.installed

.PHONY: report test lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile workflow/logger/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,lint,slurm]'
	# The console output of `snakemake` (a logger plugin; the default profile selects it).
	$(BIN)/python -m pip install --quiet -c constraints.txt -e workflow/logger
	touch $@

report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check mlestudy scripts tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint

clean:
	rm -rf results report/report.html .snakemake
