"""voiceguide: compile a drill script into a guided audio session."""

__version__ = "0.2.0"
