"""Fuzz budgets: a fixed seed and a small number of examples by default (CI), a larger random
run on demand: ``CONVCOST_FUZZ_EXAMPLES=5000 pytest tests/test_*fuzz*.py``."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

ON_DEMAND = int(os.environ.get("CONVCOST_FUZZ_EXAMPLES", "0") or 0)


def fuzz(examples: int) -> settings:
    """``examples`` with a fixed seed, or CONVCOST_FUZZ_EXAMPLES random ones."""
    return settings(
        max_examples=ON_DEMAND or examples,
        derandomize=not ON_DEMAND,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
    )
