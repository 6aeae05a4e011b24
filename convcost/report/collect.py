"""Python's cyclic collector, run rarely while an analysis or its report is made.

An analysis allocates many small long-lived objects (records, costs, rows) and frees few; a
report of it allocates a dict or a row per layer. With the default thresholds the collector
rescans them over and over (+55% at 100,000 layers; a quarter of ``to_json`` at 10,000). The
pipeline runs an analysis under :func:`few_collections`, the report makes its JSON under it
too, and the CLI sets the same thresholds for the whole run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLD = (100_000, 50, 100)


@contextmanager
def few_collections() -> Iterator[None]:
    """The collector's thresholds raised to :data:`GC_THRESHOLD` (a higher first threshold
    already set is kept), and restored afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_THRESHOLD[0]), *GC_THRESHOLD[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
