"""Music and cadence beds (spec section 10), on real builds with real ffmpeg decoding."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import measure
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from voiceguide import tools
from voiceguide.audio.beds import DUCK_AFTER_MS, DUCK_BEFORE_MS, RAMP_MS, duck_spans, tick_samples
from voiceguide.plan import Bed, Settings, make_plan
from voiceguide.script import load_script
from voiceguide.session import Options, open_session

pytestmark = pytest.mark.slow

RATE = 44100
SCRIPT = """\
title: Beds
voices: {coach: {engine: hibari, voice: heart, rate: 170}}
voice: coach
music: {files: [soft_loop], level: -14, duck: 12}
cadence: 150
intro: Hello.
stages:
  - name: With music
    duration: 24
    say: Music runs under this stage.
    cues: [{at: 12, say: Halfway.}]
    countdown: 3
  - name: Ticks only
    duration: 12
    music: false
    cadence: 120
  - name: Nothing
    duration: 8
    music: false
    cadence: false
outro: Done.
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main_cli(), list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def main_cli():  # type: ignore[no-untyped-def]
    from voiceguide.cli import main

    return main


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("beds")
    script = folder / "beds.yaml"
    script.write_text(SCRIPT, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        code, out, err = run("plan", str(script), "--json")
        assert code == 0, err
        targets = [folder / "a.mp3", folder / "b.mp3"]
        for target in targets:
            code, _, err = run("build", str(script), "-o", str(target))
            assert code == 0, err
        session = open_session(script, Options())
        plan = session.plan()
        mixer = session.beds(plan)
        bed = np.concatenate([c if (c := mixer.chunk(b, min(b + RATE, total))) is not None
                              else np.zeros(min(RATE, total - b))
                              for total in [round(plan.duration_ms * RATE / 1000)]
                              for b in range(0, total, RATE)])
        mixer.close()
    return {"plan": json.loads(out), "mp3": targets[0], "again": targets[1], "bed": bed,
            "object": plan, "stderr": err}


def test_the_plan_lists_every_bed(built: dict) -> None:
    chapters = {c["title"]: c for c in built["plan"]["chapters"]}
    first, second = chapters["Stage 1: With music"], chapters["Stage 2: Ticks only"]
    assert built["plan"]["beds"] == [
        {"type": "cadence", "stage": 1, "start_s": first["start_s"],
         "end_s": round(first["end_s"] - 3, 3), "spm": 150},
        {"type": "music", "start_s": first["start_s"], "end_s": first["end_s"],
         "files": ["soft_loop"]},
        {"type": "cadence", "stage": 2, "start_s": second["start_s"], "end_s": second["end_s"],
         "spm": 120},
    ]


def rms_db(samples: np.ndarray) -> float:
    return 10 * np.log10(float(np.mean(samples.astype(np.float64) ** 2)) + 1e-20)


def test_music_is_ducked_around_every_event_in_the_built_file(built: dict) -> None:
    """Measured in the decoded MP3, where a listener hears it: in the margins before and
    after each event (no speech there, the music held down) against open stretches."""
    plan = built["object"]
    audio = measure.decode(built["mp3"])
    rate = measure.ANALYSIS_RATE

    def at(ms: float) -> int:
        return round(ms * rate / 1000)

    music = next(b for b in plan.beds if b.type == "music")
    region = np.zeros(len(audio), dtype=bool)
    region[at(music.start_ms + 1000) : at(music.end_ms - 2000)] = True  # past the fades
    quiet = np.ones(len(audio), dtype=bool)  # no event and no tick sounding
    for event in plan.events:
        quiet[at(event.start_ms) : at(event.end_ms)] = False
    for bed in plan.beds:
        if bed.type == "cadence":
            for tick in tick_samples(bed, RATE):
                quiet[round(tick * rate / RATE) : round(tick * rate / RATE) + at(100)] = False
    margins = np.zeros(len(audio), dtype=bool)
    near = np.zeros(len(audio), dtype=bool)  # within a duck or its ramps
    for event in plan.events:
        margins[at(event.start_ms - DUCK_BEFORE_MS + 20) : at(event.start_ms - 20)] = True
        margins[at(event.end_ms + 20) : at(event.end_ms + DUCK_AFTER_MS - 20)] = True
        near[at(event.start_ms - DUCK_BEFORE_MS - RAMP_MS - 50) :
             at(event.end_ms + DUCK_AFTER_MS + RAMP_MS + 50)] = True
    ducked = audio[margins & region & quiet]
    open_ = audio[~near & region & quiet]
    assert ducked.size > rate // 2 and open_.size > rate
    assert rms_db(open_) - rms_db(ducked) >= 12 - 1.5  # duck: 12, over a loop of varying level


def test_the_mixer_ducks_by_the_duck_between_events(built: dict) -> None:
    plan, bed = built["object"], built["bed"]
    music = next(b for b in plan.beds if b.type == "music")
    start, end = round(music.start_ms * RATE / 1000), round(music.end_ms * RATE / 1000)
    ticks = [t for b in plan.beds if b.type == "cadence" for t in tick_samples(b, RATE)]
    no_ticks = np.ones(len(bed), dtype=bool)
    for tick in ticks:
        no_ticks[tick : tick + round(0.1 * RATE)] = False
    # where the plan's events are, independently of the mixer's own spans
    inside = np.zeros(len(bed), dtype=bool)
    for event in plan.events:
        inside[round(event.start_ms * RATE / 1000) : round(event.end_ms * RATE / 1000)] = True
    region = np.zeros(len(bed), dtype=bool)
    region[start + RATE : end - 2 * RATE] = True  # past the fade-in, before the fade-out
    away = np.ones(len(bed), dtype=bool)
    for lo, hi in duck_spans(plan, RATE):
        away[max(0, lo - round(RAMP_MS * RATE / 1000)) : hi + round(RAMP_MS * RATE / 1000)] = False
    ducked = bed[inside & region & no_ticks]
    open_ = bed[away & region & no_ticks]
    assert ducked.size > RATE and open_.size > RATE
    assert rms_db(open_) - rms_db(ducked) >= 12 - 1.0


def test_no_music_where_it_is_off_and_ticks_on_exact_samples(built: dict) -> None:
    plan, bed = built["object"], built["bed"]
    ticks_only = next(b for b in plan.beds if b.type == "cadence" and b.stage == 2)
    start = round(ticks_only.start_ms * RATE / 1000)
    expected = tick_samples(ticks_only, RATE)
    assert expected[:3] == [start, start + RATE // 2, start + RATE]  # 120 steps: every 0.5 s
    # every tick is the same clip, so its loudest sample sits at the same offset from its start
    peaks = [at + int(np.argmax(np.abs(bed[at : at + RATE // 4]))) for at in expected]
    offset = peaks[0] - expected[0]
    assert 0 <= offset < RATE // 20 and [p - offset for p in peaks] == expected
    last_stage = plan.chapters[-2]
    silent = bed[round(last_stage.start_ms * RATE / 1000) : round(last_stage.end_ms * RATE / 1000)]
    assert not np.any(silent)


def test_the_mp3_keeps_its_promises(built: dict) -> None:
    plan = built["plan"]
    integrated, peak = measure.loudness(built["mp3"])
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0
    decoded = measure.decode(built["mp3"])
    assert abs(len(decoded) / measure.ANALYSIS_RATE - plan["duration_s"]) <= 0.050
    nothing = next(c for c in plan["chapters"] if c["title"] == "Stage 3: Nothing")
    events = [e for e in plan["events"] if nothing["start_s"] <= e["start_s"] < nothing["end_s"]]
    quiet_from = max([nothing["start_s"]] + [e["end_s"] for e in events]) + 0.05
    db = measure.frame_db(decoded)
    window = db[measure.frame(quiet_from) : measure.frame(nothing["end_s"] - 0.05)]
    assert window.size and window.max() < measure.SILENT_DB  # no music, no ticks there
    assert built["mp3"].read_bytes() == built["again"].read_bytes()


class Lengths:
    """Every clip's length, for plans of beds alone."""

    def speech_ms(self, request: object) -> int:
        return 500

    def sound_ms(self, name: str) -> int:
        return 1000


def test_bed_mixer_without_music_files_plays_ticks_only(tmp_path: Path) -> None:
    script = tmp_path / "t.yaml"
    script.write_text("title: T\ncadence: 200\nstages: [{name: A, duration: 3}]\n",
                      encoding="utf-8")
    loaded = load_script(script)

    plan = make_plan(loaded, Settings(), Lengths())
    assert plan.beds == (Bed("cadence", 0, 3000, stage=1, spm=200),)
    assert tick_samples(plan.beds[0], RATE)[:4] == [0, 13230, 26460, 39690]


@pytest.fixture(scope="module")
def damaged_music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two minutes of music as MP3, its bytes overwritten from the middle on."""
    import subprocess

    from voiceguide import builtins

    folder = tmp_path_factory.mktemp("damaged")
    good = folder / "good.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "-1", "-i",
                    str(builtins.music_path("soft_loop")), "-t", "120", "-c:a", "libmp3lame",
                    "-b:a", "128k", str(good)], check=True)
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 40_000] = bytes((i * 7) & 0xFF for i in range(40_000))
    (folder / "bad.mp3").write_bytes(bytes(data))
    return folder


def test_music_damaged_halfway_is_a_located_error(damaged_music: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(damaged_music / "cache"))
    script = damaged_music / "bad.yaml"
    script.write_text("title: T\nmusic: {files: [bad.mp3]}\nstages: [{name: A, duration: 30}]\n",
                      encoding="utf-8")
    code, _, err = run("check", str(script))
    assert code == 2
    assert err.startswith(f"{script}:2:17: music file 'bad.mp3': bad.mp3 cannot be decoded "
                          "after ") and len(err.splitlines()) == 1


def test_damage_found_while_mixing_keeps_the_earlier_file(
        damaged_music: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Damage past what the level was measured on is found by the render: exit 1."""
    from voiceguide.audio import beds

    monkeypatch.setenv("XDG_CACHE_HOME", str(damaged_music / "cache2"))
    monkeypatch.setattr(beds, "MEASURE_S", 20)  # the level from the first 20 s only
    script = damaged_music / "long.yaml"
    script.write_text("title: T\nmusic: {files: [bad.mp3]}\nstages: [{name: A, duration: 100}]\n",
                      encoding="utf-8")
    target = damaged_music / "out.mp3"
    target.write_bytes(b"earlier")
    code, _, err = run("build", str(script), "-o", str(target))
    assert code == 1
    assert err.startswith("voiceguide: bad.mp3 cannot be decoded after ")
    assert len(err.splitlines()) == 1 and target.read_bytes() == b"earlier"
    assert not [p for p in damaged_music.iterdir() if p.name.startswith(".out.mp3.")]


def test_the_ticks_gain_is_measured_once_and_kept(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A track of ticks is measured for its gain on the first build only; later builds read
    the very same float from the store (a warm build with cadence measures nothing)."""
    from voiceguide.audio import beds
    from voiceguide.audio.clips import ClipStore
    from voiceguide.audio.sounds import SoundLibrary
    from voiceguide.store import Store

    script = tmp_path / "t.yaml"
    script.write_text("title: T\ncadence: 170\nstages: [{name: A, duration: 3},"
                      " {name: B, duration: 3, cadence: 180}]\n", encoding="utf-8")
    loaded = load_script(script)

    plan = make_plan(loaded, Settings(), Lengths())
    clips = ClipStore(Lengths(), SoundLibrary(), RATE)  # type: ignore[arg-type]
    levels = beds.MusicLevels(Store(tmp_path / "store").entries("music"), RATE)
    first = beds.BedMixer(plan, loaded, clips, RATE, -19.0, levels)
    measured = [first.ticks[0][1], first.ticks[-1][1]]

    def never(*args: object) -> float:
        raise AssertionError("measured again")

    monkeypatch.setattr(beds.BedMixer, "_tick_gain", never)
    again = beds.BedMixer(plan, loaded, clips, RATE, -19.0, levels)
    assert [again.ticks[0][1].tobytes(), again.ticks[-1][1].tobytes()] == \
        [t.tobytes() for t in measured]
    assert not np.array_equal(measured[0], measured[1])  # two paces, two gains


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_long_builds_can_hand_freed_memory_back() -> None:
    """A bed build gives glibc's free pages back after each stretch and piece: the call
    is found here (where the 60-minute build's memory target is measured) and runs."""
    assert tools._malloc_trim() is not None
    tools.release_memory()


@pytest.fixture
def counted_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the music files decoded from their start, one entry per decode."""
    from voiceguide.audio import beds

    names: list[str] = []
    decode = beds.decode_stream

    def counted(path: Path, label: str, rate: int):  # type: ignore[no-untyped-def]
        names.append(label)
        return decode(path, label, rate)

    monkeypatch.setattr(beds, "decode_stream", counted)
    return names


def test_the_music_is_read_at_any_place_and_decoded_again_only_when_it_must(
        tmp_path: Path, counted_decodes: list[str]) -> None:
    """Places ahead of the decoder are decoded on to, kept places are read from memory,
    any other place behind it is decoded again from the start: always the same samples."""
    from voiceguide.audio import beds
    from voiceguide.audio.beds import MusicBed
    from voiceguide.script import Loc, MusicFile

    rate = 8000
    path = tmp_path / "tone.wav"
    seconds = 5
    t = np.arange(seconds * RATE) / RATE
    measure.write_wav(path, 0.3 * np.sin(2 * np.pi * 330 * t) * (1 + t) / (1 + seconds), RATE)
    music = MusicFile(name="tone.wav", path=path, loc=Loc(1, 1))
    straight = MusicBed([(music, 0.5)], rate)
    whole = straight.read(0, 2 * seconds * rate)  # the playlist loops
    straight.close()
    assert len(counted_decodes) == 2 and np.array_equal(whole[: seconds * rate],
                                                         whole[seconds * rate :])
    counted_decodes.clear()

    bed = MusicBed([(music, 0.5)], rate)
    bed.keep([(1000, 9000), (20000, 26000)])
    places = [(500, 700), (30000, 2000), (1500, 5000), (21000, 4000), (36000, 100)]
    for at, count in places:
        assert np.array_equal(bed.read(at, count), whole[at : at + count]), (at, count)
    assert len(counted_decodes) == 1  # what was read again was kept
    assert len(bed.read(2000, 0)) == 0
    assert np.array_equal(bed.read(100, 300), whole[100:400])  # not kept: from the start
    assert len(counted_decodes) == 2
    bed.close()

    counted_decodes.clear()
    greedy = MusicBed([(music, 0.5)], rate)
    greedy.keep([(0, beds.KEEP_S * rate + 1)])  # more than may be kept: nothing is
    assert np.array_equal(greedy.read(0, 100), whole[:100])
    assert np.array_equal(greedy.read(3000, 100), whole[3000:3100])
    assert np.array_equal(greedy.read(0, 100), whole[:100])
    assert len(counted_decodes) == 2
    greedy.close()



def test_a_kept_level_is_read_back_exactly_and_made_again_when_it_cannot_be(
        tmp_path: Path, counted_decodes: list[str]) -> None:
    """A music file's level is measured once, the very same floats read back after; an
    entry that is damaged or lacks a field is measured again and kept whole."""
    from voiceguide.audio import beds
    from voiceguide.script import Loc, MusicFile

    path = tmp_path / "tone.wav"
    t = np.arange(2 * RATE) / RATE
    measure.write_wav(path, 0.2 * np.sin(2 * np.pi * 262 * t), RATE)
    kept: dict[str, bytes] = {}

    class Entries:
        def get(self, key: str) -> bytes | None:
            return kept.get(key)

        def put(self, key: str, data: bytes) -> None:
            kept[key] = data

    levels = beds.MusicLevels(Entries(), RATE)  # type: ignore[arg-type]
    music = MusicFile(name="tone.wav", path=path, loc=Loc(1, 1))
    first = levels.measure(music)
    assert first[1] == 2.0 and len(counted_decodes) == 1
    assert levels.measure(music) == first and len(counted_decodes) == 1
    (key,) = kept
    whole = kept[key]
    for damaged in (b"{\"lufs\": -20.5}", b"not json", b"[1, 2]"):
        kept[key] = damaged
        assert levels.measure(music) == first
        assert kept[key] == whole
    assert len(counted_decodes) == 4


@example(start_ms=10, length_ms=1, spm=60, rate=22050)  # 220.5 samples: rounds to 220
@example(start_ms=30, length_ms=1, spm=60, rate=22050)  # 661.5: rounds to 662
@given(start_ms=st.integers(0, 10**7), length_ms=st.integers(0, 10**6),
       spm=st.integers(1, 400), rate=st.sampled_from([22050, 24000, 32000, 44100, 48000]))
def test_ticks_fall_where_exact_arithmetic_puts_them(start_ms: int, length_ms: int, spm: int,
                                                     rate: int) -> None:
    """Integer arithmetic gives what exact fractions give: start + k × 60/C s, rounded
    half to even, for every tick before the end."""
    from fractions import Fraction

    bed = Bed("cadence", start_ms, start_ms + length_ms, stage=1, spm=spm)
    start, end = Fraction(start_ms * rate, 1000), Fraction((start_ms + length_ms) * rate, 1000)
    step = Fraction(60 * rate, spm)
    count = int((end - start) / step) + 1
    exact = [round(start + k * step) for k in range(count) if start + k * step < end]
    assert tick_samples(bed, rate) == exact


def test_a_music_files_digest_is_kept_from_one_build_to_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An hour of music is not hashed at every build: its sha256 is kept by the file's
    identity, and a file written since is hashed again."""
    import hashlib
    import os

    from calls import recorded

    from voiceguide import store
    from voiceguide.audio import beds

    monkeypatch.setattr(store, "QUIET_S", -1.0)  # as if written long enough ago
    memo = store.Store(tmp_path / "store").entries("music")
    music = tmp_path / "music.mp3"
    music.write_bytes(b"an hour of music")
    monkeypatch.setattr(beds, "_digests", {})
    assert beds.content_digest(music, memo) == hashlib.sha256(b"an hour of music").hexdigest()
    hashed = recorded(monkeypatch, hashlib, "file_digest")
    monkeypatch.setattr(beds, "_digests", {})  # the next build
    assert beds.content_digest(music, memo) == hashlib.sha256(b"an hour of music").hexdigest()
    assert hashed == []
    written = music.stat().st_mtime_ns
    music.write_bytes(b"an hour of tunes")
    os.utime(music, ns=(written + 10**9, written + 10**9))
    monkeypatch.setattr(beds, "_digests", {})
    assert beds.content_digest(music, memo) == \
        hashlib.sha256(b"an hour of tunes").hexdigest()
    assert len(hashed) == 1
