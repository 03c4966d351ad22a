"""Plain-text tables for terminal output. Python 3.6 compatible."""
from typing import List, Sequence  # noqa: F401


def format_table(headers, rows):
    # type: (Sequence[str], Sequence[Sequence[str]]) -> str
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    return "\n".join(line.rstrip() for line in lines)
