"""ClipStore: prepared clips at the session rate, their lengths, a cache that stays small, on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio import loudness as L
from voiceguide.audio.clips import (
    CLIP_PEAK_DBTP,
    SOUND_LUFS,
    SPEECH_LUFS,
    ClipStore,
    PreparedClips,
    length_ms,
)
from voiceguide.audio.sounds import SoundLibrary
from voiceguide.speech.cache import cache_key
from voiceguide.speech.request import SpeechRequest
from voiceguide.store import Store


class ToneSpeech:
    """Stands in for a speech engine: a tone as long as the text, with silence around it."""

    def __init__(self, rate: int = 22050) -> None:
        self.rate = rate
        self.calls = 0

    def audio(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        self.calls += 1
        t = np.arange(round(0.1 * len(request.text) * self.rate)) / self.rate
        tone = 0.2 * np.sin(2 * np.pi * 300 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
        pad = np.zeros(self.rate // 4)
        return np.concatenate([pad, tone, pad]).astype(np.float32), self.rate


def _request(text: str) -> SpeechRequest:
    return SpeechRequest("espeak-ng", None, None, text)


@pytest.mark.parametrize("rate", [44100, 48000, 24000])
def test_speech_is_resampled_levelled_and_trimmed(rate: int) -> None:
    store = ClipStore(ToneSpeech(), SoundLibrary(), rate)
    clip = store.speech_clip(_request("twenty characters..."))
    assert clip.dtype == np.float32
    assert abs(len(clip) - 2.0 * rate) <= 0.02 * rate  # the padding is gone
    assert L.clip_loudness(clip, rate) == pytest.approx(SPEECH_LUFS, abs=0.2)
    assert L.true_peak(clip) <= CLIP_PEAK_DBTP + 0.1
    assert store.speech_ms(_request("twenty characters...")) == length_ms(len(clip), rate)


def test_sounds_sit_a_few_lu_under_speech() -> None:
    store = ClipStore(ToneSpeech(), SoundLibrary(), 44100)
    for name in ("chime", "bell", "gong"):
        assert L.clip_loudness(store.sound_clip(name), 44100) == pytest.approx(SOUND_LUFS, abs=0.3)
    assert SPEECH_LUFS - 6 <= SOUND_LUFS < SPEECH_LUFS


def test_lengths_round_up_to_the_millisecond() -> None:
    assert length_ms(44100, 44100) == 1000
    assert length_ms(44101, 44100) == 1001
    assert length_ms(1, 44100) == 1


def test_prepared_clips_are_shared_read_only() -> None:
    store = ClipStore(ToneSpeech(), SoundLibrary(), 44100)
    clip = store.sound_clip("tick")
    assert store.sound_clip("tick") is clip
    with pytest.raises(ValueError):
        clip[0] = 1.0


def test_the_cache_is_bounded_and_lengths_are_kept() -> None:
    speech = ToneSpeech()
    store = ClipStore(speech, SoundLibrary(), 44100, cache_bytes=2_000_000)
    texts = [f"cue number {n:02d}" for n in range(20)]  # ~1.4 s each, ~250 kB prepared
    lengths = [store.speech_ms(_request(t)) for t in texts]
    assert speech.calls == 20
    assert sum(c.nbytes for c in store._clips.values()) <= 2_000_000
    assert [store.speech_ms(_request(t)) for t in texts] == lengths
    assert speech.calls == 20  # lengths come from memory, not a new synthesis
    first = store.speech_clip(_request(texts[0]))  # evicted long ago: read back from disk
    assert speech.calls == 20
    fresh = ClipStore(ToneSpeech(), SoundLibrary(), 44100).speech_clip(_request(texts[0]))
    assert np.array_equal(first, fresh)


def test_speech_starts_where_it_becomes_audible_and_fades_out_fully() -> None:
    """A breathy lead-in under LEAD_DB is cut; a soft ending down to TAIL_DB is kept."""
    rate = 44100
    t = np.arange(rate) / rate
    word = 0.2 * np.sin(2 * np.pi * 300 * t)
    rng = np.random.default_rng(0)
    breath = rng.standard_normal(rate // 5) * 10 ** (-47 / 20)  # -47 dBFS at the final level
    fade = word[-rate // 5 :] * np.geomspace(1, 10 ** (-40 / 20), rate // 5)  # down to -57 dB
    raw = np.concatenate([np.zeros(rate // 10), breath, word, fade, np.zeros(rate // 10)])

    class Raw:
        def audio(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
            return raw.astype(np.float32), rate

    clip = ClipStore(Raw(), SoundLibrary(), rate).speech_clip(_request("word"))
    levels = L.frame_db(clip, rate)
    assert levels[1] > L.to_db(10 ** (-45 / 20))  # audible within the first 10 ms
    assert abs(len(clip) - (len(word) + len(fade))) <= 0.02 * rate  # the breath is gone ...
    assert levels[-3] < -50  # ... the fade-out is not


class CountingSpeech(ToneSpeech):
    """ToneSpeech that a PreparedClips can key: a stand-in SpeechLibrary with a cache folder."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.store = Store(folder)

    def key(self, request: SpeechRequest) -> str:
        return cache_key(request, "tone 1")


def test_prepared_speech_is_read_back_from_disk(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    speech = CountingSpeech(tmp_path)
    first = ClipStore(speech, SoundLibrary(), 44100, prepared=PreparedClips(speech))  # type: ignore[arg-type]
    clip = first.speech_clip(_request("stored once"))
    entries = list((tmp_path / "speech" / "prepared").glob("??/*.clip"))
    assert len(entries) == 1

    def no_preparing(*args: object) -> np.ndarray:
        raise AssertionError("prepared again")

    monkeypatch.setattr("voiceguide.audio.clips.prepare", no_preparing)
    again = ClipStore(speech, SoundLibrary(), 44100, prepared=PreparedClips(speech))  # type: ignore[arg-type]
    assert np.array_equal(again.speech_clip(_request("stored once")), clip)
    assert again.speech_ms(_request("stored once")) == first.speech_ms(_request("stored once"))
    assert speech.calls == 1  # not even the speech was asked for again
    at_44100 = PreparedClips(speech).key(_request("stored once"), 44100)  # type: ignore[arg-type]
    assert PreparedClips(speech).key(_request("stored once"), 48000) != at_44100  # type: ignore[arg-type]


def test_a_clips_samples_and_digest_come_from_its_entrys_header(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a session's recipe and plan need of a kept clip, its length and the sha256
    of its samples, is read from the prepared clip's header: the same as the clip's own,
    without reading it; without prepared clips on disk, from the clip."""
    import hashlib

    speech = CountingSpeech(tmp_path)
    request = _request("known by its header")
    clip = ClipStore(speech, SoundLibrary(), 44100,
                     prepared=PreparedClips(speech)).speech_clip(request)  # type: ignore[arg-type]
    own = (len(clip), hashlib.sha256(clip.astype("<f4").tobytes()).hexdigest())
    assert ClipStore(ToneSpeech(), SoundLibrary(), 44100).speech_identity(request) == own

    def unread(*args: object) -> np.ndarray:
        raise AssertionError("the clip was read")

    monkeypatch.setattr(PreparedClips, "get", unread)
    again = ClipStore(speech, SoundLibrary(), 44100, prepared=PreparedClips(speech))  # type: ignore[arg-type]
    assert again.speech_identity(request) == own
    assert again.speech_ms(request) == length_ms(len(clip), 44100)


def test_a_damaged_prepared_clip_is_prepared_again(tmp_path: Path) -> None:
    speech = CountingSpeech(tmp_path)
    clip = ClipStore(speech, SoundLibrary(), 44100,
                     prepared=PreparedClips(speech)).speech_clip(_request("damaged"))  # type: ignore[arg-type]
    (entry,) = (tmp_path / "speech" / "prepared").glob("??/*.clip")
    blob = bytearray(entry.read_bytes())
    blob[-100] ^= 0x40
    entry.write_bytes(bytes(blob))
    again = ClipStore(speech, SoundLibrary(), 44100,
                      prepared=PreparedClips(speech)).speech_clip(_request("damaged"))  # type: ignore[arg-type]
    assert speech.calls == 2
    assert np.array_equal(again, clip)
    assert entry.read_bytes() != bytes(blob)  # replaced by a good entry


def test_clips_prepared_ahead_on_threads_are_the_clips_prepared_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold build prepares each clip on a spare thread as soon as it is spoken; the
    planner then reads it back, the same samples as a clip prepared when first asked for."""
    import threading

    texts = [f"clip number {n} of several" for n in range(6)]
    plain = ClipStore(ToneSpeech(), SoundLibrary(), 48000)
    expected = {t: plain.speech_clip(_request(t)) for t in texts}

    speech = CountingSpeech(tmp_path)
    ahead = ClipStore(speech, SoundLibrary(), 48000, prepared=PreparedClips(speech))  # type: ignore[arg-type]
    from voiceguide.audio import clips as module

    where: list[str] = []
    real_prepare = module.prepare

    def watched(*args: object) -> np.ndarray:
        where.append(threading.current_thread().name)
        return real_prepare(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "prepare", watched)
    for text in texts:
        ahead.prepare_ahead(_request(text))
    got = {t: ahead.speech_clip(_request(t)) for t in texts}
    ahead.close()
    assert all(np.array_equal(got[t], expected[t]) for t in texts)
    assert len(where) == len(texts) and all(n.startswith("voiceguide-prepare") for n in where)
    assert speech.calls == len(texts)  # each spoken clip read once, on its thread
    assert len(list((tmp_path / "speech" / "prepared").glob("??/*.clip"))) == len(texts)
