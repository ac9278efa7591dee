"""Property tests that count their outcomes: a strategy that only yields refusals fails instead of passing.

A property of the form "a clean board or a clean refusal, never a crash" holds vacuously when every
random spec is refused. ``Share`` counts what each example came to and, once hypothesis has run them
all, requires a stated share of one outcome (usually ``"ok"``: the spec built and checked clean)::

    BUILT = Share("ok", at_least=0.2)

    @BUILT.required  # outermost, above @settings / @given
    @settings(max_examples=40, deadline=None)
    @given(cavity_specs())
    def test_random_cavities_never_crash(data):
        kind, detail = family_outcome(data, CAVITY_RULES)
        BUILT.saw(kind)
        ...

The count covers every example the test body saw in one run (examples hypothesis filtered out with
``assume`` never reach it). Properties whose strategy is derandomised see the same examples on every
run, so their share is a fixed number, checked with margin.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Callable


class Share:
    """At least ``at_least`` (0..1) of a property's examples must come to ``kind``."""

    def __init__(self, kind: str, at_least: float) -> None:
        assert 0 < at_least <= 1, at_least
        self.kind = kind
        self.at_least = at_least
        self.counts: Counter[str] = Counter()

    def saw(self, outcome: str) -> None:
        """Record what one example came to (call once per example, from the test body)."""
        self.counts[outcome] += 1

    def check(self) -> None:
        """Fail unless the recorded examples hold the required share of ``kind``."""
        total = sum(self.counts.values())
        got = self.counts[self.kind]
        assert total > 0, "the property saw no example"
        assert got >= self.at_least * total, (
            f"only {got} of {total} examples came to {self.kind!r} (at least {self.at_least:.0%} required); "
            f"outcomes: {dict(self.counts)}")

    def required(self, test: Callable) -> Callable:
        """Decorate a ``@given`` test: run all its examples, then :meth:`check` the share."""

        @functools.wraps(test)
        def wrapper(*args, **kwargs):
            self.counts.clear()
            test(*args, **kwargs)
            self.check()

        return wrapper
