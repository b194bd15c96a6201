"""The graph onnxruntime makes of a hibari voice's model, kept in the store so that a
worker's next start loads it as it is (``KeptGraph``), for ``_hibari_worker``."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voiceguide.store import Store, file_digest


class KeptGraph:
    """The graph onnxruntime makes of a voice's model, kept in the store (kind ``voices``).

    onnxruntime optimises a model's graph at every load: 0.08 s of hibari's start. The
    graph it made, loaded without optimising, is the very same graph run by the same
    kernels, and loads in 0.02 s. It is kept by the model's sha256, onnxruntime's
    version and the machine's processor (some optimisations are the processor's own).
    hibari makes its own sessions, so its session options carry the choice: save the
    graph made of the file, or load the kept one as it is. Any trouble with the store:
    the file, optimised as ever."""

    def __init__(self, path: str) -> None:
        import onnxruntime as ort

        self.ort, self.key, self.kept = ort, None, None
        with contextlib.suppress(Exception):  # the cache is a help, never a condition
            self.entries = Store().entries("voices")
            digest = file_digest(Path(path), self.entries)
            if digest is not None:
                self.key = hashlib.sha256(json.dumps([
                    "hibari-graph/1", digest, ort.__version__, _processor()]).encode()).hexdigest()
                self.kept = self.entries.get(self.key) or None

    @contextlib.contextmanager
    def loading(self) -> Iterator[None]:
        """hibari's sessions, within, load a graph as it is."""
        with self._options(graph_optimization_level=self.ort.GraphOptimizationLevel.
                           ORT_DISABLE_ALL):
            yield

    @contextlib.contextmanager
    def saving(self) -> Iterator[None]:
        """The graph hibari's session makes, within, is kept."""
        from voiceguide import scratch

        if self.key is None:
            yield
            return
        with scratch.folder() as tmp:
            saved = Path(tmp) / "graph.onnx"
            with self._options(optimized_model_filepath=str(saved)):
                yield
            with contextlib.suppress(Exception):
                self.entries.put(self.key, saved.read_bytes())

    @contextlib.contextmanager
    def _options(self, **settings: Any) -> Iterator[None]:
        made = self.ort.SessionOptions
        self.ort.SessionOptions = _options(made, **settings)
        try:
            yield
        finally:
            self.ort.SessionOptions = made


def _options(made: Any, **settings: Any) -> Any:
    """onnxruntime's ``SessionOptions``, made with *settings* as well."""

    def options() -> Any:
        chosen = made()
        for name, value in settings.items():
            setattr(chosen, name, value)
        return chosen

    return options


def _processor() -> str:
    """What names this machine's processor: its architecture and, on Linux, its model
    and the instruction sets it offers."""
    import platform

    facts = [platform.machine()]
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            name, _, value = line.partition(":")
            if name.strip() in ("model name", "flags", "Features", "CPU part"):
                facts.append(value.strip())
            elif not line.strip() and len(facts) > 1:
                break  # the first processor's: they are all alike
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()
