"""``voiceguide say``: one line of speech into a file, to audition a voice and rate.

The clip goes through the same preparation as in a session (levelled and
trimmed), so what a user hears here is what a session will sound like.
"""

from __future__ import annotations

from pathlib import Path

from voiceguide.defaults import SAMPLE_RATE
from voiceguide.errors import UsageError
from voiceguide.speech import SpeechLibrary, wav
from voiceguide.speech.request import SpeechRequest

LEAD_MS = 200


def audition(text: str, *, engine: str | None, voice: str | None, rate: float | None,
             target: Path) -> None:
    """Speak *text* into *target* (.mp3, or .wav for uncompressed).

    No engine: the natural one where installed. No voice: the engine's English voice.
    """
    library = SpeechLibrary()
    engine = engine or library.natural_or_default()
    voice = voice or library.default_voice(engine, "en")
    problem = library.problem(engine, voice)
    if problem is not None:
        raise UsageError(f"--voice {voice}: {problem}" if voice else problem)
    request = SpeechRequest(engine, voice, rate, text)
    with library.speaking([request]):  # what makes the file is loaded while the engine starts
        from voiceguide.audio.clips import SPEECH_LUFS, prepare
        from voiceguide.audio.render import to_pcm16
        from voiceguide.files import write_atomically
        from voiceguide.mp3.islands import PcmFrames
        from voiceguide.mp3.writer import write_mp3
    samples, rate_hz = library.audio(request)
    clip = prepare(samples, rate_hz, SAMPLE_RATE, SPEECH_LUFS)
    silence = bytes(LEAD_MS * SAMPLE_RATE // 1000 * 2)
    pcm = silence + to_pcm16(clip) + silence
    if target.suffix.lower() == ".wav":
        write_atomically(target, wav.wrap_pcm16(pcm, SAMPLE_RATE))
    else:
        write_mp3(PcmFrames([pcm]), target, sample_rate=SAMPLE_RATE, tags={"title": text[:60]},
                  chapters=[])
