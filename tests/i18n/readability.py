"""How easy the bot's English is to read: Flesch–Kincaid grade of every participant message.

Run `python -m tests.i18n.readability` for a report (`make test` does, before pytest);
`test_readability.py` holds the limits. It reads `locales/messages.pot`, so it grades exactly
what translators get. Every message counts as participant-facing unless its translator
comment starts with `STAFF_MARKER` (notices to staff, sent in English only).

Placeholders are filled with realistic values (dates and times as the English translator
formats them, the example profile's titles). A line break ends a sentence for the reader, so
each line is graded as one. Short labels (buttons, headings, "Phone: ..." lines) are not
prose and have no meaningful grade: a message is graded when any line of it ends a sentence
(".", "?" or "!") or is longer than `LABEL_MAX_WORDS` words.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import textstat
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, Catalogs

POT = LOCALES_DIR / "messages.pot"
STAFF_MARKER = "Translators: staff notice"
MAX_GRADE = 6.0  # for every message of more than one sentence
MAX_AVERAGE = 5.0  # over every graded participant message
LABEL_MAX_WORDS = 8

_t = Catalogs().translator("en")
_when = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
_session = _t._("{date} at {time}").format(date=_t.date(_when.date()), time=_t.time(_when))

# One realistic value per placeholder name; a new name must be added here (a test says so).
SAMPLES: dict[str, str] = {
    "name": "Sam",
    "phone": "01244 394500",
    "date": _t.date(date(2026, 12, 1)),
    "time": _t.time(_when),
    "session": _session,
    "place": "Room 2",
    "address": "Beech House, Park West, Sealand Road, Chester CH1 4RJ",
    "web": "www.ppo.gov.uk",
    "url": "https://queue.example.org/items/12",
    "fax": "01244 394507",
    "reference": "C-7K2Q",
    "handler": "Senior Probation Officer",
    "spo": "Senior Probation Officer",
    "chief": "Chief Officer",
    "category": "I was treated unfairly",
    "person": "Dana Fictional",
    "reason": "I am ill",
    "choice": "Both",
    "status": "Being looked at",
    "words": "It was not fair.",
    "message": "Thanks for letting me know.",
    "done": "12",
    "required": "35",
    "missed": "5",
    "used": "2",
    "left": "2",
    "max": "4",
    "n": "2",
    "hours": "2",
    "months": "3",
    "size": "10",
    "stage": "1",
}

_MARKUP = re.compile(r"<[^>]+>|[*_`~|\u2068\u2069]")
_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
_SENTENCE_BREAK = re.compile(r"[.?!][\"')\]]*(\s|$)")


@dataclass(frozen=True, slots=True)
class Message:
    msgid: str  # for a plural entry, the form this text is (singular or plural)
    staff: bool
    placeholders: frozenset[str]

    @property
    def text(self) -> str:
        """The message as a participant reads it: sample values in, markup out."""
        return _MARKUP.sub("", self.msgid.format(**{k: SAMPLES[k] for k in self.placeholders}))

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]

    @property
    def graded(self) -> bool:
        return any(
            _SENTENCE_BREAK.search(line) or len(line.split()) > LABEL_MAX_WORDS
            for line in self.lines
        )

    @property
    def prose(self) -> str:
        """Each line as a sentence of its own, as a reader takes it."""
        return " ".join(
            line if _SENTENCE_END.search(line) else line.rstrip(":;,") + "." for line in self.lines
        )

    @property
    def sentences(self) -> int:
        return len([s for s in re.split(r"(?<=[.?!])\s+", self.prose) if s.strip()])

    @property
    def grade(self) -> float:
        return float(textstat.flesch_kincaid_grade(self.prose))


def _placeholders(text: str) -> frozenset[str]:
    return frozenset(f for _, f, _, _ in string.Formatter().parse(text) if f)


def load(pot: Path = POT) -> list[Message]:
    """Every message in the template; both forms of a plural entry."""
    with pot.open("rb") as handle:
        catalog = read_po(handle)
    found = []
    for entry in catalog:
        if not entry.id:
            continue
        staff = any(c.startswith(STAFF_MARKER) for c in entry.auto_comments)
        forms = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        found.extend(Message(form, staff, _placeholders(form)) for form in forms)
    return found


def participant_messages(pot: Path = POT) -> list[Message]:
    return [m for m in load(pot) if not m.staff and m.graded]


def too_hard(graded: list[Message]) -> list[Message]:
    return [m for m in graded if m.sentences > 1 and m.grade > MAX_GRADE]


def average(graded: list[Message]) -> float:
    return sum(m.grade for m in graded) / len(graded)


def report(worst: int = 5) -> str:
    graded = participant_messages()
    lines = [
        f"Readability (Flesch–Kincaid grade) of {len(graded)} participant messages: "
        f"average {average(graded):.1f} (limit {MAX_AVERAGE:.0f}); "
        f"at most {MAX_GRADE:.0f} for any message of more than one sentence.",
    ]
    hardest = sorted(graded, key=lambda m: m.grade, reverse=True)
    longer = [m for m in hardest if m.sentences > 1]
    for title, group in (("", hardest), (" of more than one sentence", longer)):
        lines.append(f"Hardest {worst}{title}:")
        lines.extend(
            f"  {m.grade:5.1f}  {m.sentences} sentence(s)  {m.text!r}" for m in group[:worst]
        )
    lines.extend(f"TOO HARD: {m.grade:.1f}  {m.text!r}" for m in too_hard(graded))
    return "\n".join(lines)


if __name__ == "__main__":
    # Only a report: tests/i18n/test_readability.py fails the build when a limit is passed.
    print(report())
