"""Plan → PCM → MP3, measured the way a listener's player (and ffmpeg) sees the file."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import measure
import numpy as np
import pytest

from voiceguide.audio.clips import ClipStore
from voiceguide.audio.render import gain_for, render, to_sample
from voiceguide.audio.sounds import SoundLibrary
from voiceguide.mp3.islands import PcmFrames
from voiceguide.mp3.writer import write_mp3
from voiceguide.plan import Chapter, Event, Plan
from voiceguide.speech.request import SpeechRequest

RATE = 44100
TAGS = {"title": "Back test", "artist": "voiceguide", "album": "Drills", "comment": "for tests"}


class EspeakSpeech:
    """A speech library made of real espeak-ng output (duck-typed SpeechLibrary)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calls = 0

    def audio(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        self.calls += 1
        path = self.folder / f"{abs(hash(request))}.wav"
        if not path.exists():
            rate = str(int(request.rate or 175))
            subprocess.run(["espeak-ng", "-s", rate, "-w", str(path), request.text], check=True)
        with wave.open(str(path), "rb") as f:
            frames, rate_hz = f.readframes(f.getnframes()), f.getframerate()
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, rate_hz


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> ClipStore:
    return ClipStore(EspeakSpeech(tmp_path_factory.mktemp("speech")), SoundLibrary(), RATE)


class Timeline:
    """Builds a plan the way plan.py does: each event ends when its prepared clip falls silent."""

    def __init__(self, clips: ClipStore) -> None:
        self.clips = clips
        self.events: list[Event] = []

    def say(self, at: int, text: str, stage: int | None, volume: float = 1.0) -> int:
        request = SpeechRequest("espeak-ng", None, 170, text)
        end = at + self.clips.speech_ms(request)
        self.events.append(Event("speech", at, end, stage, text=text, voice="coach",
                                 request=request, volume=volume))  # fmt: skip
        return end

    def sound(self, at: int, name: str, stage: int | None) -> int:
        end = at + self.clips.sound_ms(name)
        self.events.append(Event("sound", at, end, stage, sound=name))
        return end


def make_plan(clips: ClipStore) -> Plan:
    line = Timeline(clips)
    intro_end = line.say(500, "This session teaches you to engage your back.", None)
    stage1 = intro_end + 1000
    line.say(line.sound(stage1, "chime", 1) + 300, "Stage one. Lower back, standing.", 1)
    line.say(stage1 + 9000, "Find the balance that gives you stability.", 1, volume=0.8)
    line.sound(stage1 + 14000, "tick", 1)
    stage2 = stage1 + 17000
    line.sound(stage2, "chime", 2)
    line.say(stage2 + 250, "Stage two. Walk.", 2)  # starts under the chime's tail
    for n, word in enumerate(["Three", "Two", "One"]):
        line.say(stage2 + 7000 + 1000 * n, word, 2)
    finish = stage2 + 10000
    line.say(line.sound(finish, "bell", None) + 300, "Well done.", None)
    end = line.events[-1].end_ms + 1000
    chapters = (
        Chapter("Intro", 0, stage1),
        Chapter("Stage 1: Lower back, standing", stage1, stage2),
        Chapter("Stage 2: Walk = go; #2", stage2, finish),
        Chapter("Outro", finish, end),
    )
    return Plan("Back test", end, chapters, tuple(line.events))


@pytest.fixture(scope="module")
def session(clips: ClipStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    plan = make_plan(clips)
    folder = tmp_path_factory.mktemp("session")
    pcm = b"".join(render(plan, clips, RATE))
    mp3 = folder / "session.mp3"
    write_mp3(PcmFrames(render(plan, clips, RATE)), mp3, sample_rate=RATE, bitrate="96k", tags=TAGS,
              chapters=plan.chapters)  # fmt: skip
    return {"plan": plan, "pcm": pcm, "mp3": mp3, "folder": folder}


def _busy(plan: Plan) -> list[tuple[int, int]]:
    return measure.busy((e.start_ms, e.end_ms) for e in plan.events)


def test_pcm_is_exactly_the_plan_long_and_silent_between_events(session: dict) -> None:
    plan, pcm = session["plan"], session["pcm"]
    samples = np.frombuffer(pcm, dtype="<i2")
    assert len(samples) == to_sample(plan.duration_ms, RATE)
    audible = np.zeros(len(samples), dtype=bool)
    for start, end in _busy(plan):
        audible[to_sample(start, RATE) : to_sample(end, RATE)] = True
    assert not np.any(samples[~audible]), "sound outside the planned events"
    for event in plan.events:
        assert samples[to_sample(event.start_ms, RATE) : to_sample(event.end_ms, RATE)].any()


def test_decoded_length_onsets_and_gaps(session: dict) -> None:
    plan = session["plan"]
    decoded = measure.decode(session["mp3"])
    assert abs(len(decoded) / measure.ANALYSIS_RATE - plan.duration_ms / 1000) <= 0.050
    db = measure.frame_db(decoded)
    busy = _busy(plan)
    errors = measure.onset_errors(db, [e.start_ms for e in plan.events], busy)
    assert len(errors) >= len(plan.events) - 2
    assert all(abs(error) <= 0.030 for error in errors.values()), errors
    assert measure.loud_gaps(db, busy, plan.duration_ms) == []


def test_chapters_and_tags_read_back_in_order(session: dict) -> None:
    plan = session["plan"]
    got = measure.chapters(session["mp3"])
    want = [(c.title, c.start_ms / 1000, c.end_ms / 1000) for c in plan.chapters]
    assert [title for title, _, _ in got] == [title for title, _, _ in want]
    for (_, gs, ge), (_, ws, we) in zip(got, want, strict=True):
        assert gs == pytest.approx(ws, abs=0.001)
        assert ge == pytest.approx(we, abs=0.001)
    tags = measure.probe(session["mp3"])["format"]["tags"]
    for key, value in TAGS.items():
        assert tags[key] == value


def test_loudness_and_true_peak_as_heard_on_two_earbuds(session: dict) -> None:
    integrated, peak = measure.loudness(session["mp3"])
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0


def test_a_rebuild_is_byte_identical(session: dict, tmp_path: Path) -> None:
    """From nothing kept: speech synthesised again into a new folder, sounds decoded again."""
    fresh = EspeakSpeech(tmp_path / "speech")
    fresh.folder.mkdir()
    again = tmp_path / "again.mp3"
    plan = session["plan"]
    write_mp3(PcmFrames(render(plan, ClipStore(fresh, SoundLibrary(), RATE), RATE)), again,
              sample_rate=RATE, bitrate="96k", tags=TAGS, chapters=plan.chapters)
    assert fresh.calls > 0  # the speech was made again, not reused
    assert again.read_bytes() == session["mp3"].read_bytes()


class ImpulseClips:
    """Every clip is the same short burst, so positions can be checked to the sample."""

    def __init__(self, loud: float = 0.5) -> None:
        self.burst = np.full(32, loud, dtype=np.float32)

    def speech_clip(self, request: SpeechRequest) -> np.ndarray:
        return self.burst

    def sound_clip(self, name: str) -> np.ndarray:
        return self.burst


def _burst_plan(starts: list[int], duration_ms: int) -> Plan:
    events = tuple(Event("sound", ms, ms + 1, 1, sound="tick") for ms in starts)
    return Plan("t", duration_ms, (Chapter("Stage 1: t", 0, duration_ms),), events)


@pytest.mark.parametrize("rate", [44100, 48000, 22050])
def test_events_sit_on_their_exact_sample_however_many(rate: int) -> None:
    starts = [500 + k * 1237 + (k * 7) % 3 for k in range(150)]
    plan = _burst_plan(starts, starts[-1] + 1000)
    samples = np.frombuffer(b"".join(render(plan, ImpulseClips(), rate)), dtype="<i2")  # type: ignore[arg-type]
    onsets = np.flatnonzero(np.diff((samples != 0).astype(int)) == 1) + 1
    assert list(onsets) == [round(ms * rate / 1000) for ms in starts]


def test_overlaps_add_without_clipping() -> None:
    plan = _burst_plan([1000, 1000, 1000, 1000], 3000)
    samples = np.frombuffer(b"".join(render(plan, ImpulseClips(0.9), RATE)), dtype="<i2")  # type: ignore[arg-type]
    assert 0 < np.abs(samples).max() < 32767 * 10 ** (-1.5 / 20)


def test_an_empty_plan_is_digital_silence_of_the_right_length() -> None:
    plan = Plan("quiet", 2500, (Chapter("Stage 1: rest", 0, 2500),), ())
    pcm = b"".join(render(plan, ImpulseClips(), RATE))  # type: ignore[arg-type]
    assert pcm == bytes(2 * to_sample(2500, RATE))


def test_the_session_gain_obeys_the_peak_ceiling() -> None:
    # -16 LUFS on two ears is -19.01 mono, +0.3 for the encoder: 6.29 dB, on the 0.5 dB grid
    assert 20 * np.log10(gain_for(-25.0, -12.0)) == pytest.approx(6.5)
    assert 20 * np.log10(gain_for(-25.0, -3.0)) == pytest.approx(1.5)
    assert 20 * np.log10(gain_for(-25.0, -2.9)) == pytest.approx(1.0)  # the step below the peak


def test_the_session_gain_stays_put_under_a_small_edit() -> None:
    """One cue more or less moves the loudness by hundredths: the gain stays, so every
    island the edit did not touch is the same PCM and comes from the cache."""
    assert gain_for(-25.0, -12.0) == gain_for(-25.1, -12.0) == gain_for(-24.97, -11.9)
    assert gain_for(float("-inf"), float("-inf")) == 1.0
