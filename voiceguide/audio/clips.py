"""Prepared clips: speech and sounds resampled, levelled and trimmed for one session.

The planner asks for lengths, the renderer for audio; both must see the very
same prepared clip, so both go through one ``ClipStore``. Prepared audio is
kept in a small LRU (bounded in bytes) so memory does not grow with the
session; a clip pushed out of it is spilled to a private temporary folder, so
the planner and both render passes prepare each clip only once. Lengths are
remembered for good (they are just integers).

Preparing a clip costs far more than reading it, so prepared speech and sounds
are also kept on disk beside the speech cache (``PreparedClips``): a second build or
``plan`` of a script reads its clips instead of preparing them again. In a cold
build, each clip is prepared on a spare thread as soon as the engine has made
it (``prepare_ahead``; numpy leaves the interpreter lock while it works), so
preparing overlaps speaking, on every core the build may use.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from voiceguide import scratch
from voiceguide.audio.dsp import gcd_ratio, resample_poly
from voiceguide.audio.loudness import SILENCE, clip_loudness, k_weighting_taps, level_clip, trim
from voiceguide.speech.request import SpeechRequest
from voiceguide.tools import cores_per_build

if TYPE_CHECKING:
    from voiceguide.speech import SpeechLibrary

SPEECH_LUFS = -19.0  # mono; ffmpeg's ebur128=dualmono=true reads it as -16
SOUND_LUFS = -22.0  # a few LU under the speech: noticeable, not startling
CLIP_PEAK_DBTP = -5.0  # sparse speech measures ~1 LU under its clips, and overlaps add
CACHE_BYTES = 8 * 1024 * 1024  # ~45 s of prepared audio near the mix; the rest are on disk
# A clip starts where it reaches this level (dBFS, at about its final loudness): softer
# lead-ins (breath, a soft 'f') would sound before the planned start yet not be heard as
# its onset. 3 dB above the -45 dBFS line of audibility leaves room for a voice's volume.
LEAD_DB = -42.0
TAIL_DB = -55.0  # ends are kept down to here, so words fade out naturally
CADENCE_FADE_MS = 10  # a cadence sound longer than a beat is cut there, over this fade
PREPARATION = "voiceguide-prepared/3"  # change it whenever prepared clips would come out different


class SpeechSource(Protocol):
    def audio(self, request: SpeechRequest) -> tuple[np.ndarray, int]: ...


class SoundSource(Protocol):
    def audio(self, name: str, keep_ms: int | None = None) -> tuple[np.ndarray, int]: ...

    def source(self, name: str) -> Path: ...


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Deterministic polyphase resampling to *target_rate*."""
    if rate == target_rate:
        return samples.astype(np.float64)  # a copy: prepare scales it in place
    up, down = gcd_ratio(rate, target_rate)
    return resample_poly(samples, up, down)


def prepare(samples: np.ndarray, rate: int, target_rate: int, lufs: float) -> np.ndarray:
    """Resample, trim the silence around it, level to *lufs* (peaks limited).

    The trim thresholds are absolute levels, so the trim looks at the clip
    already scaled to roughly its final loudness; levelling the trimmed clip
    then measures only what will be heard.
    """
    at_rate = resample(samples, rate, target_rate)
    loudness = clip_loudness(at_rate, target_rate)
    if loudness == SILENCE:
        return np.zeros(0, dtype=np.float32)
    at_rate *= 10 ** ((lufs - loudness) / 20)
    trimmed = trim(at_rate, target_rate, LEAD_DB, TAIL_DB)
    del at_rate  # a long intro is tens of MB at each step
    return level_clip(trimmed, target_rate, lufs, CLIP_PEAK_DBTP).astype(np.float32)


def _cadence(what: Hashable) -> tuple[str, int]:
    """A cadence clip's (sound name, beat in ms)."""
    assert isinstance(what, tuple)
    name, beat_ms = what
    return str(name), int(beat_ms)


def at_most(samples: np.ndarray, rate: int, ms: int) -> np.ndarray:
    """The first *ms* of *samples*; where that cuts the sound short, faded out over its
    last ``CADENCE_FADE_MS`` so the cut does not click."""
    keep = -(-ms * rate // 1000)
    if len(samples) <= keep:
        return samples
    cut = samples[:keep].astype(np.float32)  # a copy: the fade changes it
    fade = min(keep, CADENCE_FADE_MS * rate // 1000)
    cut[keep - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return cut


def length_ms(samples: int, rate: int) -> int:
    """Milliseconds until a clip of *samples* falls silent, rounded up."""
    return -(-samples * 1000 // rate)


class PreparedClips:
    """Prepared speech clips on disk, in ``speech/prepared`` of the speech cache's folder.

    An entry is keyed by the speech cache's key for the request, the sample
    rate and ``PREPARATION``, and stored the way speech is (verified on every
    read, written atomically), so a damaged entry is made again, never used.
    ``voiceguide cache clear`` removes these with the speech.
    """

    def __init__(self, speech: SpeechLibrary) -> None:
        self.speech = speech
        self.store = speech.store.entries("speech/prepared")

    def key(self, request: SpeechRequest, sample_rate: int) -> str:
        fields = [PREPARATION, self.speech.key(request), sample_rate]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()

    def sound_key(self, source: Path, sample_rate: int, beat_ms: int | None = None) -> str:
        """A sound's entry: by its file's content (a built-in's or the script's own), and
        for a cadence tick, the beat it is cut to."""
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        fields: list[object] = [PREPARATION, "sound", digest, sample_rate]
        if beat_ms is not None:
            fields += ["cadence", beat_ms]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()

    def described(self, key: str) -> tuple[int, str] | None:
        """(samples, the sha256 of their bytes) from the entry's header, not its data."""
        described = self.store.described(key)
        return None if described is None else (described[0] // 4, described[1])

    def get(self, key: str) -> np.ndarray | None:
        data = self.store.get(key)
        return None if data is None else np.frombuffer(data, dtype="<f4")

    def put(self, key: str, clip: np.ndarray) -> bool:
        try:
            self.store.put(key, clip.astype("<f4").tobytes())
        except OSError:  # an unwritable cache slows builds but must not stop them
            return False
        return True


class ClipStore:
    """Prepared clips at the session's sample rate, and their lengths in ms."""

    def __init__(
        self, speech: SpeechSource, sounds: SoundSource, sample_rate: int,
        *, cache_bytes: int = CACHE_BYTES, prepared: PreparedClips | None = None,
        lengths: dict[Hashable, int] | None = None,
    ) -> None:  # fmt: skip
        """*lengths*: clip lengths to share with other sessions' stores (a programme's):
        kept by what was said or which file sounds, and the sample rate."""
        self.speech = speech
        self.sounds = sounds
        self.sample_rate = sample_rate
        self.prepared = prepared
        self._on_disk: set[Hashable] = set()  # in ``prepared``: read back from there, not spilled
        self._cache_bytes = cache_bytes
        self._clips: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._used = 0
        self._lengths: dict[Hashable, int] = {} if lengths is None else lengths
        self._identities: dict[Hashable, tuple[int, str]] = {}
        self._spilled: dict[Hashable, Path] = {}
        self._spill_dir: Path | None = None
        # being prepared ahead: the clip when the disk could not keep it, else None
        self._ahead: dict[Hashable, Future[np.ndarray | None]] = {}
        self._ahead_lock = threading.Lock()
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None

    def warm_up(self) -> None:
        """Starts making, on a spare thread, what preparing a clip needs first (the
        loudness filter's taps: 0.05 s on a cold store), while the engine starts."""
        if self.prepared is not None:
            self._spare().submit(k_weighting_taps, self.sample_rate)

    def _spare(self) -> ThreadPoolExecutor:
        with self._ahead_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(cores_per_build(), "voiceguide-prepare")
                weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
            return self._pool

    def prepare_ahead(self, request: SpeechRequest) -> None:
        """Starts preparing *request*'s clip on a spare thread (any thread may ask): the
        planner will ask for it soon. Only with prepared clips on disk, where the clip
        waits for it, so clips made ahead never pile up in memory."""
        key = ("speech", request)
        if self.prepared is None:
            return
        pool = self._spare()
        with self._ahead_lock:
            if key in self._ahead or key in self._clips:
                return
            self._ahead[key] = pool.submit(self._kept_ahead, key)

    def _kept_ahead(self, key: tuple[str, Hashable]) -> np.ndarray | None:
        clip, kept = self._made(key)
        return None if kept else clip

    def close(self) -> None:
        """Stops preparing ahead: what has not begun never will (the build has ended)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._ahead.clear()

    def speech_ms(self, request: SpeechRequest) -> int:
        return self._length(("speech", request))

    def sound_ms(self, name: str) -> int:
        return self._length(("sound", name))

    def speech_clip(self, request: SpeechRequest) -> np.ndarray:
        return self._clip(("speech", request))

    def sound_clip(self, name: str) -> np.ndarray:
        return self._clip(("sound", name))

    def cadence_clip(self, name: str, beat_ms: int) -> np.ndarray:
        """Sound *name* as a cadence tick: at most one beat of it (a tick that rang on
        under the next ones would only blur them), faded over its last
        ``CADENCE_FADE_MS`` where it is cut, cut before it is decoded further or prepared."""
        return self._clip(("cadence", (name, beat_ms)))

    def speech_identity(self, request: SpeechRequest) -> tuple[int, str]:
        return self._identity(("speech", request))

    def sound_identity(self, name: str) -> tuple[int, str]:
        return self._identity(("sound", name))

    def _length(self, key: tuple[str, Hashable]) -> int:
        known = self._known(key)
        if known not in self._lengths:
            self._identity(key)
        return self._lengths[known]

    def _identity(self, key: tuple[str, Hashable]) -> tuple[int, str]:
        """(the clip's samples, the sha256 of its samples as little-endian float32): what
        the prepared clip's entry on disk says, reading its header only, else the clip's."""
        with self._lock:
            known = self._identities.get(key)
        if known is None:
            described = self.prepared.described(self._disk_key(key)) if self.prepared else None
            if described is None:
                clip = self._clip(key)
                described = (len(clip), hashlib.sha256(clip.astype("<f4").tobytes()).hexdigest())
            with self._lock:
                known = self._identities[key] = described
                self._lengths[self._known(key)] = length_ms(described[0], self.sample_rate)
        return known

    def _known(self, key: tuple[str, Hashable]) -> Hashable:
        """How a clip's length is kept: by its request, or its sound's file, and the rate
        (the same in every session that shares the lengths)."""
        kind, what = key
        if kind == "sound":
            assert isinstance(what, str)
            return kind, str(self.sounds.source(what)), self.sample_rate
        if kind == "cadence":
            name, beat_ms = _cadence(what)
            return kind, str(self.sounds.source(name)), beat_ms, self.sample_rate
        return kind, what, self.sample_rate

    def _clip(self, key: tuple[str, Hashable]) -> np.ndarray:
        with self._lock:  # the levels of a session are measured on several threads
            clip = self._clips.get(key)
            if clip is not None:
                self._clips.move_to_end(key)
                return clip
            spilled = self._spilled.get(key)
            clip = np.load(spilled) if spilled is not None else self._prepare(key)
            clip.flags.writeable = False  # shared with every caller
            self._lengths[self._known(key)] = length_ms(len(clip), self.sample_rate)
            self._remember(key, clip)
            return clip

    def _prepare(self, key: tuple[str, Hashable]) -> np.ndarray:
        """Prepared ahead, from the prepared clips on disk, or prepared (and stored) now."""
        with self._ahead_lock:
            ahead = self._ahead.pop(key, None)
        if ahead is not None:
            clip = ahead.result()
            if clip is not None:
                return clip
        clip, kept = self._made(key)
        if kept:
            self._on_disk.add(key)
        return clip

    def _made(self, key: tuple[str, Hashable]) -> tuple[np.ndarray, bool]:
        """(the clip, whether it is in the prepared clips on disk): read from there when
        they have it, else prepared and stored. Touches nothing else: threads call it."""
        kind, what = key
        disk_key = self._disk_key(key)
        clip = self.prepared.get(disk_key) if self.prepared else None
        if clip is None:
            if kind == "speech":
                samples, rate = self.speech.audio(what)  # type: ignore[arg-type]
            elif kind == "cadence":
                name, beat_ms = _cadence(what)
                # a millisecond more than the beat: to know whether the sound goes on
                samples, rate = self.sounds.audio(name, keep_ms=beat_ms + 1)
                samples = at_most(samples, rate, beat_ms)
            else:
                samples, rate = self.sounds.audio(what)  # type: ignore[arg-type]
            clip = prepare(samples, rate, self.sample_rate,
                           SPEECH_LUFS if kind == "speech" else SOUND_LUFS)
            if not (self.prepared and self.prepared.put(disk_key, clip)):
                return clip, False
        return clip, True

    def _disk_key(self, key: tuple[str, Hashable]) -> str:
        """The clip's entry in the prepared clips on disk ("" without them)."""
        kind, what = key
        if self.prepared is None:
            return ""
        if kind == "speech":
            assert isinstance(what, SpeechRequest)
            return self.prepared.key(what, self.sample_rate)
        if kind == "cadence":
            name, beat_ms = _cadence(what)
            return self.prepared.sound_key(self.sounds.source(name), self.sample_rate, beat_ms)
        assert isinstance(what, str)
        return self.prepared.sound_key(self.sounds.source(what), self.sample_rate)

    def _remember(self, key: Hashable, clip: np.ndarray) -> None:
        self._clips[key] = clip
        self._used += clip.nbytes
        while self._used > self._cache_bytes and len(self._clips) > 1:
            old_key, dropped = self._clips.popitem(last=False)
            self._used -= dropped.nbytes
            self._spill(old_key, dropped)

    def _spill(self, key: Hashable, clip: np.ndarray) -> None:
        if key in self._spilled or key in self._on_disk:
            return
        if self._spill_dir is None:
            self._spill_dir = scratch.make()
            weakref.finalize(self, shutil.rmtree, self._spill_dir, ignore_errors=True)
        path = self._spill_dir / f"{len(self._spilled)}.npy"
        np.save(path, clip, allow_pickle=False)
        self._spilled[key] = path
