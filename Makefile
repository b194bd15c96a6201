# One command sets up and tests: `make test`. `make run` builds the seed session.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_TOOLS := espeak-ng ffmpeg ffprobe mpg123
LINTED := voiceguide tests $(wildcard benchmarks)

.PHONY: test run lint system venv sounds bench clean

test: venv
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
	$(BIN)/python benchmarks/hostile_cost.py
	$(BIN)/python benchmarks/import_time.py
	$(BIN)/python benchmarks/rounds_cost.py
	$(BIN)/python benchmarks/beds_cost.py

sounds: venv
	$(BIN)/python -m voiceguide.soundgen sounds

venv: system $(STAMP)

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
