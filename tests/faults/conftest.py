"""Fault tests print what they measured at the end of the run (pytest hides test output)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

_FIGURES: list[str] = []


@pytest.fixture
def figures() -> Iterator[list[str]]:
    """Lines a test wants printed in the run's summary."""
    lines: list[str] = []
    yield lines
    _FIGURES.extend(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("fault and scale figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
