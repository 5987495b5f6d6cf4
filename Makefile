# Attention, in high resolution — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NBVAL  := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
PYTEST := HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(BIN)/python -m pytest -q -rs

# Offline classroom install: `make wheelhouse` on a machine with internet (same OS and Python as the lab),
# copy the folder, then `make setup WHEELHOUSE=path/to/wheelhouse` with pip's index switched off.
WHEELHOUSE ?=
PIP_FROM   := $(if $(WHEELHOUSE),--no-index --find-links $(abspath $(WHEELHOUSE)))
# Where a CPU-only torch can be had (Linux): e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

.PHONY: setup run test unit nbval test-oldest test-colab bench lab scrub figures clean wheelhouse fast mutate mutation-report toy-seeds

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed (found %s); try: make PYTHON=python3.11" % sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_FROM) --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_FROM) -r requirements.txt
	$(BIN)/python -m pip install --quiet $(PIP_FROM) --no-deps -e .
	@touch $@

## make wheelhouse: every wheel the pinned requirements need, for this platform and Python, plus our own
wheelhouse:
	@mkdir -p wheelhouse
	$(PYTHON) -m pip wheel --quiet --wheel-dir wheelhouse $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
		-r requirements.txt pip "setuptools>=77"
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir wheelhouse .
	@$(PYTHON) tools/check_wheelhouse.py wheelhouse

## make run: execute every notebook headlessly into build/ (real models when online, offline stand-ins otherwise)
run: $(STAMP)
	@mkdir -p build/notebooks build/html
	$(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
		--ExecutePreprocessor.kernel_name=python3 --output-dir build/notebooks $(NOTEBOOKS)
	$(BIN)/jupyter nbconvert --to html --output-dir build/html build/notebooks/*.ipynb
	@echo
	@echo "Executed notebooks: $(CURDIR)/build/notebooks/"
	@echo "HTML versions:      $(CURDIR)/build/html/"
	@ls build/html

## make test: unit tests and nbval over every notebook, offline
test: $(STAMP)
	$(PYTEST) tests $(NOTEBOOKS) $(NBVAL)

unit: $(STAMP)
	$(PYTEST) tests

## make fast: the unit tests without the browser tests and nbval, on FAST_WORKERS processes (pytest-xdist;
## about a minute on 2 cores). FAST_WORKERS=0 runs them in this one process.
FAST_WORKERS ?= 2
fast: $(STAMP)
	$(PYTEST) tests -m "not browser" $(if $(filter-out 0,$(FAST_WORKERS)),-n $(FAST_WORKERS) --dist worksteal)

## make mutate: mutation testing (mutmut) of the core modules; writes build/mutation.json.
## Slow (several hours on 2 cores), so not part of `make test` or .ci/run. See docs/mutation.md.
## One mutmut run over every module not in [tool.mutmut] do_not_mutate: it orders the mutants by
## their tests' cost, cheapest first, and keeps earlier results, so an interrupted run resumes.
## Re-run chosen mutants (after adding a test) with: .venv/bin/mutmut run 'attn_utils.plot.x_plot_tree*'
## Which tests reach which function is collected afresh each time (a few minutes; results are kept):
## mutmut's incremental map misses a function added or moved after the tests that call it.
MUTATE_CHILDREN ?= 2
mutate: $(STAMP)
	@mkdir -p build
	rm -f mutants/mutmut-stats.json
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 ATTN_UTILS_TEST_CACHE=$(CURDIR)/build/e5-cache \
		$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) > build/mutmut.log 2>&1 || { tail -20 build/mutmut.log; exit 1; }
	$(BIN)/python tools/mutation_report.py --min-score 0.9

mutation-report:
	$(BIN)/python tools/mutation_report.py --survivors

nbval: $(STAMP)
	$(PYTEST) $(NOTEBOOKS) $(NBVAL)

## make test-oldest / test-colab: the same tests in a second environment under build/,
## from constraints (tools/constraints.py): the floor of every bound in pyproject.toml,
## or a Colab-like set (constraints/colab.txt). pip's cache is reused; torch is the CPU build on disk.
test-oldest test-colab: test-%: build/env-%/.installed
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg build/env-$*/bin/python -m pytest -q -rs --durations=10 -p no:cacheprovider tests $(NOTEBOOKS) $(NBVAL)

build/env-%/.installed: constraints/%.txt pyproject.toml tools/constraints.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed (found %s); try: make PYTHON=python3.11" % sys.version.split()[0]'
	rm -rf build/env-$*
	$(PYTHON) -m venv build/env-$*
	$(PYTHON) tools/constraints.py $* > build/env-$*/constraints.txt
	build/env-$*/bin/python -m pip install --quiet --no-compile -c build/env-$*/constraints.txt '.[ja,offline,dev]'
	build/env-$*/bin/python tools/constraints.py --check $* build/env-$*/constraints.txt
	build/env-$*/bin/python -m pip list --format=freeze > build/env-$*/installed.txt
	@touch $@

## make bench: ratios measured side by side (see benchmarks/run.py); writes build/bench.json.
## BENCH_ARGS="--device cuda --only device" times head_stats and syntax_heads on a GPU; "--quick": a smoke run
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	MPLBACKEND=Agg $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

## make toy-seeds: notebook 07's seed study (a toy BERT per corpus and seed, ~10 minutes on 1 thread);
## rewrites attn_utils/data/toy_seeds.json, which the notebook reads and checks against its live seed-0 runs
TOY_SEEDS ?= 5
toy-seeds: $(STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m attn_utils.toy --seeds $(TOY_SEEDS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## make scrub: keep outputs (readers see results on GitHub) but drop execution noise
scrub: $(STAMP)
	$(BIN)/python tools/scrub.py $(NOTEBOOKS)

## make figures: redraw the README figures in docs/img/ (notebooks never write there)
figures: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python tools/figures.py docs/img

clean:
	rm -rf build $(VENV)
