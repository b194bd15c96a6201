"""Audio: everything that makes or measures samples.

``decode`` (ffmpeg as a streaming decoder), ``sounds`` (built-in and user sounds, read
safely), ``soundgen`` (makes the built-in sounds), ``dsp`` (resampling, true peak),
``loudness`` (EBU R128), ``clips`` (speech and sounds prepared at the session's rate),
``beds`` (music and cadence under the speech) and ``render`` (the plan mixed to PCM).
May import the script model, the plan and speech; nothing from ``mp3/`` or ``phone/``.
"""
