"""Progress bars (tqdm on stderr, shown only on a terminal unless forced)."""
import contextlib
import os
import sys


class _NullBar(object):
    def update(self, n=1):
        pass

    def set_postfix_str(self, text):
        pass


@contextlib.contextmanager
def progress_bar(total, desc, unit="it", enabled=True):
    show = enabled and (sys.stderr.isatty() or os.environ.get("EDGEC_PROGRESS") == "1")
    if not show:
        yield _NullBar()
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()
