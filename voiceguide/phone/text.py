"""Text as it leaves voiceguide in XML and HTML (the feed, the page, the timeline), escaped
in one place.

Beyond ``& < > "``, XML 1.0 cannot carry every character: controls other than
tab and newline, lone surrogates, and U+FFFE / U+FFFF make a document invalid.
They become U+FFFD, so no title can break a feed or a picture.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """*text* with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def xml(text: str) -> str:
    """Element text for XML and HTML."""
    return escape(clean(text))


def attr(text: str) -> str:
    """A quoted attribute value for XML and HTML."""
    return quoteattr(clean(text))
