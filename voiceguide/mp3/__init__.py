"""MP3: the session's PCM as frames, written with tags and chapters.

``frames`` (MPEG frame formats and the Info frame), ``id3`` (the ID3v2.3 tag with
chapters), ``islands`` (frames encoded only where something sounds, kept by content),
``pieces`` (a session with beds made piece by piece from the plan), ``writer``
(``write_mp3``) and ``stages`` (a file per stage). May import ``audio/``; not ``phone/``.
"""
