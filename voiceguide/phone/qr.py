"""The QR code ``serve`` prints, readable on light and on dark terminals.

segno makes the code (a well-kept QR library: error correction, masks). Its
own terminal output draws with reverse video, which depends on the terminal's
colours and comes out inverted on a light background, where many phone
cameras cannot read it. Here every module is drawn in explicit colours (the
256-colour palette's black and white), two rows to a line with half blocks,
inside the quiet zone, so the code is the same picture on every terminal.
"""

from __future__ import annotations

BLACK, WHITE = 16, 231  # the 256-colour palette's pure black and pure white
UPPER = "▀"
RESET = "\033[0m"
BORDER = 4


def terminal_lines(text: str) -> list[str]:
    """*text* as a QR code, one string per terminal line (ANSI colours, half blocks)."""
    import segno

    code = segno.make(text, error="m")
    rows = [[WHITE if bit == 0 else BLACK for bit in row]
            for row in code.matrix_iter(scale=1, border=BORDER)]
    if len(rows) % 2:
        rows.append([WHITE] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2], strict=True):
        cells = "".join(f"\033[38;5;{t}m\033[48;5;{b}m{UPPER}" for t, b in
                        zip(top, bottom, strict=True))
        lines.append(cells + RESET)
    return lines
