# Two commands a new user needs: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install clean bench soak sandbox browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/sfxero demo

# The UI test drives Debian's chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; \
	  else echo "chromium is missing and apt-get needs root: run 'sudo apt-get install chromium' once" >&2; exit 1; fi; \
	  echo "installing Debian's chromium for the browser test (apt-get)"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: install browser $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sandbox: install
	$(BIN)/sfxero sandbox up

bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.readme_figures

# The chaos soak, then the generative pipeline suite's long profile (SFXERO_GENERATIVE_SOAK worlds, 30 by
# default; `make test` runs its fast profile).
soak: install $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m bench.soak
	$(BIN)/python -m bench.readme_figures
	$(BIN)/python -m pytest -n 2 -m slow sfxero_dagster_tests/generative

clean:
	rm -rf $(VENV) .dagster_home .sandbox_state .pytest_cache .ruff_cache
