"""Which files a participant may send: sick notes, and evidence with a complaint."""

from __future__ import annotations

import enum
from pathlib import PurePosixPath

# Photos and PDFs: what a phone makes of a paper note. Telegram lets bots download up to
# 20 MB; a photo of a page is far smaller.
MAX_BYTES = 10 * 1024 * 1024
ACCEPTED_TYPES = {
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "application/pdf": {".pdf"},
}


class FileProblem(enum.StrEnum):
    TOO_BIG = "too_big"
    WRONG_TYPE = "wrong_type"


def check_file(
    mime_type: str | None, file_name: str | None, size: int | None
) -> FileProblem | None:
    """None when the file is a photo or PDF of a sensible size (a sick note, evidence)."""
    extensions = ACCEPTED_TYPES.get((mime_type or "").lower())
    if extensions is None:
        return FileProblem.WRONG_TYPE
    # A name that says otherwise (e.g. "note.pdf.exe") is refused whatever the type claims.
    if file_name is not None and PurePosixPath(file_name.lower()).suffix not in extensions:
        return FileProblem.WRONG_TYPE
    if size is not None and size > MAX_BYTES:
        return FileProblem.TOO_BIG
    return None
