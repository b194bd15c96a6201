"""The keys of each part of a drill script: the reader accepts these and no others, the
JSON Schema lists them (``schema.py``), and the docs test checks docs/drill-scripts.md
names every one."""

TOP_KEYS = (
    "version", "title", "description", "artist", "album", "language", "voices", "voice",
    "pace", "sounds", "announce", "start_sound", "finish_sound", "intro", "outro", "stages",
    "music", "cadence", "cadence_level", "cadence_sound", "cover",
)
MUSIC_KEYS = ("files", "level", "duck")
PROFILE_KEYS = ("engine", "voice", "rate", "volume", "command")
STAGE_KEYS = (
    "name", "duration", "say", "cues", "countdown", "voice", "announce", "start_sound", "pace",
    "skip_last", "cadence", "music",
)
BLOCK_KEYS = ("repeat", "name", "stages")
COUNTDOWN_KEYS = ("count", "sound")
CUE_KEYS = ("at", "every", "from", "until", "before_end", "say", "sound", "voice")
