# One command sets up and tests: `make test`. `make run` builds the seed session.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_TOOLS := espeak-ng ffmpeg ffprobe mpg123
# What the tests use besides: a real browser for the player page, zbar to read the QR
# code serve prints, mp3val to check frames, WebKit (WebKitGTK on a virtual display) for
# the player as iPhones run it (command, then the Debian package it is in).
TEST_TOOLS := chromium:chromium chromedriver:chromium-driver zbarimg:zbar-tools mp3val:mp3val \
  WebKitWebDriver:webkit2gtk-driver Xvfb:xvfb
LINTED := voiceguide tests $(wildcard benchmarks)

LOWEST := .venv-lowest

.PHONY: test run lint system test-system venv sounds bench clean lowest

test: venv test-system
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy
	$(BIN)/pytest

run: venv
	$(BIN)/voiceguide build scripts_yaml/back_engagement.yaml -o output/back_engagement.mp3

lint: venv
	$(BIN)/ruff check $(LINTED)

bench: venv
	$(BIN)/python benchmarks/build_speed.py
	$(BIN)/python benchmarks/voice_cost.py
	$(BIN)/python benchmarks/cold_cores.py
	$(BIN)/python benchmarks/hostile_cost.py
	$(BIN)/python benchmarks/import_time.py
	$(BIN)/python benchmarks/rounds_cost.py
	$(BIN)/python benchmarks/beds_cost.py
	$(BIN)/python benchmarks/publish_cost.py
	$(BIN)/python benchmarks/programme_cost.py
	$(BIN)/python benchmarks/watch_cost.py
	$(BIN)/python benchmarks/page_audit.py

sounds: venv
	$(BIN)/python -m voiceguide.audio.soundgen sounds

# The package's modules compiled once (pip does as much for a wheel): where
# PYTHONDONTWRITEBYTECODE is set, nothing else writes them, and every command would
# compile each module it imports again (a twentieth of a second per command).
venv: system $(STAMP)
	@$(BIN)/python -m compileall -q voiceguide >/dev/null

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's espeak-ng and ffmpeg: installed when missing (as root), otherwise
# stop with the exact command to run.
system:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; \
	done; \
	[ -n "$$(ldconfig -p 2>/dev/null | grep libespeak-ng)" ] || missing="$$missing libespeak-ng"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "voiceguide: installing espeak-ng, ffmpeg and mpg123 (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng ffmpeg mpg123 >/dev/null; \
	  else \
	    echo "voiceguide needs$$missing: run  sudo apt-get install espeak-ng ffmpeg mpg123"; exit 1; \
	  fi; \
	fi

test-system:
	@missing=""; for pair in $(TEST_TOOLS); do command -v $${pair%%:*} >/dev/null 2>&1 || \
	  missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "voiceguide: installing what the tests use:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	  else \
	    echo "the tests need$$missing: run  sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

# The lowest versions pyproject.toml declares, in their own venv, then a build from an
# empty folder: the floors must really work.
lowest: system
	rm -rf $(LOWEST) && $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet uv
	$(PYTHON) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > $(LOWEST)/requirements.txt
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -r $(LOWEST)/requirements.txt
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --no-deps .
	$(LOWEST)/bin/python -c "import click, yaml, numpy; print('lowest:', 'click', click.__version__, 'pyyaml', yaml.__version__, 'numpy', numpy.__version__)"
	folder=$$(mktemp -d) && cd $$folder && export XDG_CACHE_HOME=$$folder/cache && \
	  $(CURDIR)/$(LOWEST)/bin/voiceguide init && $(CURDIR)/$(LOWEST)/bin/voiceguide build drill.yaml --fit && \
	  rm -rf $$folder

clean:
	rm -rf $(VENV) $(LOWEST) .pytest_cache .ruff_cache .hypothesis
