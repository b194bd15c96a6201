"""The session format's defaults and choices, once: the CLI, the session options, the
MP3 writer and the audition read them from here.

Mono 44.1 kHz at 96 kbit/s CBR: speech and chimes through earbuds sound clean at
that rate (LAME's mono 64k smears the chimes' high partials), it costs about
43 MB an hour, and a constant bit rate lets any player seek to a chapter exactly.
"""

from __future__ import annotations

SAMPLE_RATE = 44100  # Hz
BITRATE = "96k"
SAMPLE_RATES = (22050, 24000, 32000, 44100, 48000)  # what --sample-rate offers
BITRATES = ("48k", "64k", "96k", "128k", "160k", "192k", "256k", "320k")
