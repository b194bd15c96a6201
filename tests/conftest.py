"""Hypothesis profiles (``default`` keeps ``make test`` fast; ``HYPOTHESIS_PROFILE=long``
digs), the private speech cache tests share, and the helpers every folder imports.

The folders mirror voiceguide's packages (``script/``, ``plan/``, ``speech/``,
``audio/``, ``mp3/``, ``phone/``); ``system/`` holds the end-to-end tests (hostile
input, interrupts, the corpus, the examples); the CLI, docs and house tests stay here.
``measure.py`` and ``waiting.py`` are imported by name from any of them.
"""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))  # measure, waiting, held

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("long", max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A speech cache of this test session's own, shared by its tests, in XDG_CACHE_HOME."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache



# Under CI=true (``.ci/run``, which installs every tool the tests use) a skipped test fails
# the run: a missing tool can never pass CI quietly. Elsewhere skips are reported (-ra).
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") == "true" and _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nCI=true: {len(_skipped)} tests were skipped, which CI does not allow: "
              + ", ".join(_skipped[:5]), file=sys.stderr)
