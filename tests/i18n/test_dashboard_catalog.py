"""The staff dashboard's own gettext domain: the committed template matches the code (through
`make messages`' own command line), no staff word reaches the participants' messages.pot,
from bot/ only the rule errors' sentences reach it, and each dashboard catalog is complete,
well formed and compiles."""

from __future__ import annotations

import ast
import gettext
import io
import re
import shlex
import string
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.domain import errors
from bot.i18n import LOCALES_DIR, REVIEWED_MARK, cldr_plural_forms
from handlers.web.i18n import DOMAIN, Dashboard

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
# Jinja2's newstyle gettext and `tr()` write `%(name)s`; a `{name}` would be left unfilled.
PERCENT_FIELD = re.compile(r"%\((\w+)\)[sd]")
# The rule errors' sentences (`DomainError`s, from bot/services and bot/domain) are format
# strings instead: `{name}`, `{name!r}`.
RULE_SOURCES = ("bot/services", "bot/domain")
RULE_ERRORS = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.DomainError)
}
TAG = re.compile(r"</?[a-z]+>")


def _run_makefile_extraction(
    output: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, locations: bool = False
) -> Catalog:
    """Run `make messages`' own `pybabel extract` line for `output`, writing to tmp_path."""
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    lines = [
        line
        for line in makefile.splitlines()
        if "pybabel extract" in line and f"-o {output}" in line
    ]
    assert len(lines) == 1, f"no single 'pybabel extract ... -o {output}' in the Makefile"
    args = shlex.split(lines[0].strip().removeprefix("$(BIN)/pybabel"))
    target = tmp_path / Path(output).name
    args[args.index(output)] = str(target)
    if locations:
        args.remove("--no-location")
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run(["pybabel", "--quiet", *args])
    with target.open("rb") as handle:
        return read_po(handle)


def _ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def _template() -> Catalog:
    with TEMPLATE.open("rb") as handle:
        return read_po(handle)


def test_committed_template_matches_a_fresh_extraction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = _run_makefile_extraction("locales/dashboard.pot", tmp_path, monkeypatch)
    committed = _template()
    assert _ids(fresh) - _ids(committed) == set(), "new dashboard words: run 'make messages'"
    assert _ids(committed) - _ids(fresh) == set(), "stale dashboard words: run 'make messages'"
    for message in fresh:
        if message.id:
            assert committed[message.id].auto_comments == message.auto_comments, message.id
    # Templates and Python both reach it: a page heading and a due label.
    assert "Your queue" in _ids(committed)
    assert ("due in %(num)s working day", "due in %(num)s working days") in _ids(committed)


def _rule_error_templates() -> dict[str, set[str]]:
    """Every `DomainError` (or kind of it) made in bot/services and bot/domain: its file, and
    its template, which must be a literal (an f-string or a name would not be extracted)."""
    found: dict[str, set[str]] = {}
    for source in RULE_SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in RULE_ERRORS:
                    continue
                where = f"{path.relative_to(ROOT).as_posix()}:{node.lineno}"
                assert node.args, where
                template = node.args[0]
                assert isinstance(template, ast.Constant), f"{where}: not a literal template"
                assert isinstance(template.value, str), where
                found.setdefault(template.value, set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_only_rule_errors_reach_the_dashboard_template_from_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From bot/services and bot/domain the dashboard's extraction takes exactly the rule
    errors' sentences: every one of them, and nothing else (no `_("...")`, no `tr()`)."""
    templates = _rule_error_templates()
    assert "There is no absence report {id}." in templates
    fresh = _run_makefile_extraction("locales/dashboard.pot", tmp_path, monkeypatch, locations=True)
    from_bot = {
        message.id: {path.replace("\\", "/") for path, _line in message.locations}
        for message in fresh
        if message.id and any(path.startswith("bot") for path, _line in message.locations)
    }
    assert set(from_bot) == set(templates)
    for template, paths in templates.items():
        assert {p for p in from_bot[template] if p.startswith("bot/")} == paths, template


def test_no_dashboard_word_reaches_the_participants_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The participants' extraction, with the same pyproject mapping, finds nothing in
    handlers/web: the templates match no pattern from there and tr() is not its keyword."""
    participants = _run_makefile_extraction(
        "locales/messages.pot", tmp_path, monkeypatch, locations=True
    )
    places = {path for message in participants for path, _line in message.locations}
    assert places, "the participants' extraction found nothing at all"
    assert {p for p in places if p.replace("\\", "/").startswith("handlers/web/")} == set()
    # Nor any rule error's sentence: those are the dashboard's.
    assert _ids(participants) & set(_rule_error_templates()) == set()


def _catalog_paths() -> list[Path]:
    return sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def test_welsh_has_a_dashboard_catalog() -> None:
    """Wales: Welsh on a basis of equality with English, for staff too."""
    assert "cy" in [path.parent.parent.name for path in _catalog_paths()]
    assert Dashboard().languages == ("en", "cy")


def _fields(text: str) -> set[str]:
    return set(PERCENT_FIELD.findall(text))


def _braces(text: str) -> set[tuple[str, str | None, str | None]]:
    """`{name}` fields with their conversion and format spec (a lone brace fails here)."""
    return {
        (field, conversion, spec)
        for _, field, spec, conversion in string.Formatter().parse(text)
        if field is not None
    }


def _check_form(msgid: str, form: str) -> None:
    assert form.strip(), msgid
    # The same markup (<code>, <strong>) in the same order, as the page relies on it.
    assert TAG.findall(form) == TAG.findall(msgid), (msgid, form)
    if _braces(msgid):
        # A rule error's sentence: `words.error()` fills it in with str.format().
        assert _braces(form) == _braces(msgid), (msgid, form)
        assert _fields(form) == set(), (msgid, form)
        return
    assert _fields(form) == _fields(msgid), (msgid, form)
    # No `{name}` (and no lone brace, which a rule error's str.format() would trip on).
    assert _braces(form) == set(), (msgid, form)
    # A lone percent sign would break Jinja2's newstyle formatting.
    assert "%" not in PERCENT_FIELD.sub("", form).replace("%%", ""), (msgid, form)


@pytest.mark.parametrize("path", _catalog_paths(), ids=lambda p: p.parent.parent.name)
def test_each_dashboard_catalog_is_complete_and_keeps_every_placeholder(path: Path) -> None:
    language = path.parent.parent.name
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    assert catalog.plural_forms == cldr_plural_forms(language), "plural rules must be CLDR's"
    forms = len(Locale.parse(language).plural_form.tags) + 1
    assert catalog.num_plurals == forms
    assert _ids(catalog) == _ids(_template()), "run 'make messages' and translate what is new"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        if isinstance(message.id, tuple):
            assert isinstance(message.string, tuple) and len(message.string) == forms, message.id
            for form in message.string:
                _check_form(message.id[1], form)
        else:
            assert isinstance(message.string, str), message.id
            _check_form(message.id, message.string)
    # The header says whether a qualified translator has reviewed it.
    assert any(line.startswith(REVIEWED_MARK) for line in catalog.header_comment.splitlines())
    # It compiles, and gettext can evaluate its plural rule.
    write_mo(io.BytesIO(), catalog, use_fuzzy=False)
    gettext.c2py(catalog.plural_expr)


def test_welsh_counts_use_all_six_forms_and_say_the_number() -> None:
    """Welsh has six CLDR plural forms (0, 1, 2, 3, 6, other); every one is filled in and
    keeps the count, so "due in 3 working days" never loses its 3."""
    welsh = Dashboard().get("cy")
    assert welsh is not None
    assert cldr_plural_forms("cy").startswith("nplurals=6;")
    for n in (0, 1, 2, 3, 6, 11, 100):
        text = welsh.trn("due in %(num)s working day", "due in %(num)s working days", n)
        assert str(n) in text and "ddyledus" in text, (n, text)
