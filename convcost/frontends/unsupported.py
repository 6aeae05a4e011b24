"""The one signal of every front-end's handlers: this form of the op is not costed."""

from __future__ import annotations


class Unsupported(Exception):
    """A handler met a form of its op it cannot cost: the op is listed as uncounted (with the
    totals marked as a lower bound), never costed as zero."""
