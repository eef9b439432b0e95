"""Plain English: what participants read stays at about a 9-year-old's reading level.

The grading lives in `readability.py` beside this file (`make test` prints its report).
"""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.extract import extract_from_dir

from tests.i18n import readability
from tests.i18n.test_catalogs import KEYWORDS, ROOT


def test_participant_messages_are_plain() -> None:
    graded = readability.participant_messages()
    assert readability.too_hard(graded) == [], readability.report()
    assert readability.average(graded) <= readability.MAX_AVERAGE, readability.report()


def test_every_placeholder_has_a_realistic_sample() -> None:
    for message in readability.load():
        missing = message.placeholders - readability.SAMPLES.keys()
        assert not missing, f"add a sample for {sorted(missing)} (in {message.msgid!r})"


def test_a_new_message_is_graded_unless_marked_for_staff(tmp_path: Path) -> None:
    hard = (
        "Notwithstanding the aforementioned considerations, participants' obligations "
        "regarding attendance remain. Consequently, unauthorised absences necessitate "
        "documentation."
    )
    pot = tmp_path / "messages.pot"
    pot.write_text(
        f'msgid "{hard}"\nmsgstr ""\n\n'
        f'#. {readability.STAFF_MARKER} (English only).\nmsgid "Staff. {hard}"\nmsgstr ""\n',
        encoding="utf-8",
    )
    graded = readability.participant_messages(pot)
    assert [m.msgid for m in graded] == [hard]
    assert readability.too_hard(graded) == graded


def test_long_text_without_a_full_stop_is_still_graded() -> None:
    unpunctuated = "You will need to bring your sick note to the office before the end of the week"
    assert readability.Message(unpunctuated, False, frozenset()).graded
    assert not readability.Message("Make a complaint", False, frozenset()).graded


def _staff_marked_occurrences() -> list[tuple[Path, int, str, bool]]:
    """(file, line, msgid, marked) for every gettext call in the code."""
    found = []
    for package in ("bot", "handlers"):
        for filename, line, message, comments, _context in extract_from_dir(
            ROOT / package, keywords=KEYWORDS, comment_tags=("Translators:",)
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            marked = any(c.startswith(readability.STAFF_MARKER) for c in comments)
            found.append((ROOT / package / filename, line, msgid, marked))
    return found


def _enclosing_function(path: Path, line: int) -> str | None:
    name = None
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or 0):
            name = node.name  # ast.walk is breadth-first: the innermost comes last
    return name


def test_only_staff_notices_are_left_out() -> None:
    """A message escapes the check only when marked, in a `staff_*` function, everywhere used."""
    occurrences = _staff_marked_occurrences()
    marked_ids = {msgid for _path, _line, msgid, marked in occurrences if marked}
    for path, line, msgid, marked in occurrences:
        if marked:
            function = _enclosing_function(path, line) or ""
            assert function.startswith("staff_"), (path, line, msgid)
        elif msgid in marked_ids:
            raise AssertionError(f"{msgid!r} is also used for participants at {path}:{line}")
