"""The watch: a session's FIT workout twin (``fit.py``) and a FIT workout read back into a
drill script (``drill.py``). Reads the ``Plan``; nothing of the audio."""
