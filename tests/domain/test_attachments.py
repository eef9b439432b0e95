import pytest

from bot.domain.attachments import MAX_BYTES, FileProblem, check_file

MB = 1024 * 1024


def test_the_limit_is_ten_megabytes() -> None:
    assert MAX_BYTES == 10 * MB


@pytest.mark.parametrize(
    ("mime_type", "file_name"),
    [
        ("image/jpeg", "note.jpg"),
        ("image/jpeg", "note.jpeg"),
        ("image/jpeg", None),  # a photo: Telegram sends no name
        ("image/png", "Scan 2026-12-03.png"),
        ("image/png", None),
        ("application/pdf", "fit-note.pdf"),
        ("application/pdf", None),
        ("application/pdf", "FIT NOTE.PDF"),
    ],
)
def test_photos_and_pdfs_are_accepted(mime_type: str, file_name: str | None) -> None:
    assert check_file(mime_type, file_name, 250_000) is None


@pytest.mark.parametrize("mime_type", ["IMAGE/JPEG", "Image/Png", "Application/PDF"])
def test_mime_type_case_does_not_matter(mime_type: str) -> None:
    assert check_file(mime_type, None, 1000) is None


@pytest.mark.parametrize(
    ("mime_type", "file_name"),
    [
        ("application/x-msdownload", "note.exe"),
        ("application/octet-stream", "note.exe"),
        ("application/x-msdownload", None),
        ("application/octet-stream", None),
        ("application/pdf", "note.pdf.exe"),  # a name that says otherwise is refused
        ("image/jpeg", "note.jpg.exe"),
        ("image/jpeg", "note.pdf"),  # claims to be a photo, named as a PDF
        ("application/pdf", "note"),  # no extension at all
        ("text/plain", "note.txt"),
        ("application/zip", "note.zip"),
        (None, "note.pdf"),  # no type given
        ("", None),
    ],
)
def test_other_files_are_refused_as_the_wrong_type(
    mime_type: str | None, file_name: str | None
) -> None:
    assert check_file(mime_type, file_name, 1000) is FileProblem.WRONG_TYPE


def test_a_thirty_megabyte_pdf_is_too_big() -> None:
    assert check_file("application/pdf", "note.pdf", 30 * MB) is FileProblem.TOO_BIG


def test_exactly_the_limit_is_accepted_and_one_byte_more_is_not() -> None:
    assert check_file("application/pdf", "note.pdf", MAX_BYTES) is None
    assert check_file("application/pdf", "note.pdf", MAX_BYTES + 1) is FileProblem.TOO_BIG


def test_unknown_size_is_accepted() -> None:
    assert check_file("image/png", "note.png", None) is None


def test_wrong_type_is_reported_before_size() -> None:
    assert check_file("application/x-msdownload", "x.exe", 30 * MB) is FileProblem.WRONG_TYPE
