# Attention, in high resolution — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NBVAL  := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
PYTEST := HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(BIN)/python -m pytest -q -rs

.PHONY: setup run test unit fast mutate mutation-report nbval bench lab scrub clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed (found %s); try: make PYTHON=python3.11" % sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

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

## make fast: the unit tests without the browser tests and nbval (under 60 s on 2 cores)
fast: $(STAMP)
	$(PYTEST) tests -m "not browser"

## make mutate: mutation testing (mutmut), one core module at a time; writes build/mutation.json.
## Slow (tens of minutes), so not part of `make test` or .ci/run. See docs/mutation.md.
MUTATE_MODULES  ?= extract analysis scratch plot html models probing stats syntax
MUTATE_CHILDREN ?= 2
mutate: $(STAMP)
	@mkdir -p build
	@for m in $(MUTATE_MODULES); do \
		echo "== mutmut: attn_utils/$$m.py"; \
		HF_HUB_OFFLINE=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(BIN)/mutmut run "attn_utils.$$m.*" \
			--max-children $(MUTATE_CHILDREN) > build/mutmut-$$m.log 2>&1 || { tail -20 build/mutmut-$$m.log; exit 1; }; \
	done
	$(BIN)/python tools/mutation_report.py --min-score 0.9

mutation-report:
	$(BIN)/python tools/mutation_report.py --survivors

nbval: $(STAMP)
	$(PYTEST) $(NOTEBOOKS) $(NBVAL)

## make bench: ratios measured side by side (see benchmarks/run.py); writes build/bench.json
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	MPLBACKEND=Agg $(BIN)/python benchmarks/run.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

## make scrub: keep outputs (readers see results on GitHub) but drop execution noise
scrub: $(STAMP)
	$(BIN)/python tools/scrub.py $(NOTEBOOKS)

clean:
	rm -rf build $(VENV)
