"""Progress of long index builds (``add(..., verbose=True)``), printed to standard output."""

from __future__ import annotations

import sys
import time


class Progress:
    """Reports ``done / total`` after each batch: one line rewritten in place on a terminal,
    else a line at every tenth of the work (and at the end)."""

    def __init__(self, what: str, total: int, verbose: int) -> None:
        self.what = what
        self.total = total
        self.enabled = verbose > 0 and total > 0
        self.start = time.perf_counter()
        self.next_line = 0.1
        self.in_place = self.enabled and sys.stdout.isatty()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        fraction = done / self.total
        if not self.in_place and fraction < self.next_line and done < self.total:
            return
        while self.next_line <= fraction:
            self.next_line += 0.1
        elapsed = time.perf_counter() - self.start
        left = elapsed / fraction * (1 - fraction) if fraction > 0 else float("nan")
        width = 24
        bar = "#" * int(width * fraction) + "." * (width - int(width * fraction))
        line = (f"{self.what}: [{bar}] {done:,}/{self.total:,} ({100 * fraction:.0f}%), "
                f"{elapsed:.1f} s elapsed" + (f", about {left:.0f} s left"
                                              if done < self.total else ""))
        if self.in_place:
            end = "\n" if done >= self.total else ""
            print("\r" + line, end=end, flush=True)
        else:
            print(line, flush=True)
