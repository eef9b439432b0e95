"""No participant-facing words escape translation: `bot/messages.py` writes every sentence
through gettext, and the code that sends to a participant only sends what it made."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A word of three letters or more: what a reader would read (not "\n", ":" or "{n}").
WORDS = re.compile(r"[^\W\d_]{3,}")
GETTEXT = {"_", "ngettext", "N_"}
# Calls that put text in front of a participant, and which argument is the text.
SENDERS = {"reply": 0, "tell_participant": 3, "queue_message": 3}
# Bot API field names and callback data are not for reading.
NOT_PROSE = re.compile(r"^[a-z_]+$")


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _inside_gettext(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in GETTEXT:
                return True
    return False


def _untranslated_prose(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    parents = _parents(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Expr):  # a docstring
            continue
        if isinstance(parent, ast.Dict) and node in parent.keys:
            continue
        if not WORDS.search(node.value) or NOT_PROSE.match(node.value):
            continue
        if not _inside_gettext(node, parents):
            yield f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"


def _literal_sends(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        position = SENDERS.get(name)
        if position is None or len(node.args) <= position:
            continue
        text = node.args[position]
        # Joining what messages made ("{a}\n\n{b}") is fine; words of its own are not.
        literals = [
            part.value
            for part in ast.walk(text)
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        ]
        if isinstance(text, (ast.JoinedStr, ast.Constant)) and any(
            WORDS.search(literal) for literal in literals
        ):
            yield f"{path.relative_to(ROOT)}:{node.lineno}: sends words not made by bot/messages"


def test_every_sentence_in_messages_goes_through_gettext() -> None:
    assert list(_untranslated_prose(ROOT / "bot" / "messages.py")) == []


def test_nothing_is_sent_to_a_participant_but_what_messages_made() -> None:
    sources = [
        *sorted((ROOT / "bot" / "services").glob("*.py")),
        *sorted((ROOT / "handlers" / "telegram").glob("*.py")),
        ROOT / "bot" / "scheduler.py",
        ROOT / "bot" / "outbox.py",
    ]
    found = [problem for path in sources for problem in _literal_sends(path)]
    assert found == []


def test_the_scan_finds_what_it_looks_for() -> None:
    """The checks above would catch a sentence written outside gettext."""
    sample = ROOT / "tests" / "i18n" / "_sample_for_scan.py"
    sample.write_text(
        "def bad(t, turn):\n"
        "    turn.reply(f'Hello {t}')\n"
        "    return 'You have been told.' + t._('Fine words here.')\n"
    )
    try:
        assert len(list(_literal_sends(sample))) == 1
        assert sorted(p.split(": ", 1)[1] for p in _untranslated_prose(sample)) == [
            "'Hello '",
            "'You have been told.'",
        ]
    finally:
        sample.unlink()
