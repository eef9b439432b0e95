"""Validation of Bot API calls against the official spec (a JSON rendering of the Bot API page).

The spec file is read at run time and never copied into the project; see ``find_spec_path``.
Besides types and required parameters, ``BotApiSpec`` enforces the limits that the spec only
states in prose ("1-4096 characters after entities parsing", "1-64 bytes", "must be one of ...")
plus a few documented rules that are easy to get wrong (bot command syntax, parse modes).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sandbox.formatting import PARSE_MODES, EntityParseError, parse_formatted

SPEC_ENV_VAR = "COMPANION_BOT_API_SPEC"

PRIMITIVES = frozenset({"Integer", "Float", "String", "Boolean", "True", "InputFile"})


def find_spec_path() -> Path | None:
    """Locate the spec: ``$COMPANION_BOT_API_SPEC`` or ``<repo>/../shared/telegram/api.json``."""
    env = os.environ.get(SPEC_ENV_VAR)
    if env and Path(env).is_file():
        return Path(env)
    repo_root = Path(__file__).resolve().parents[2]
    candidate = repo_root.parent / "shared" / "telegram" / "api.json"
    return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request; validates as the spec's ``InputFile``."""

    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:  # keep call logs readable
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


# --- field metadata extracted from the prose ---------------------------------------------------

_STR_LEN_RE = re.compile(r"(\d+)-(\d+) (characters|bytes|Bytes)\b")
_NUM_RANGE_RE = re.compile(r"(?:Values between |[;,] )(\d+)-(\d+)(?: are accepted|[.;,]|$)")
_ITEMS_RE = re.compile(r"(?:[Ll]ist of|must include) (\d+)-(\d+)\b")
_CONST_RE = re.compile(r"(?:must be|always) \"?([A-Za-z0-9_]+)\"?$")
_ENUM_RE = re.compile(r"[Mm]ust be one of (.*?)(?:\.\s|\.$|$)")
_REQUIRED_IF_NOT_RE = re.compile(r"[Rr]equired if (\w+) (?:isn't|is not) specified")

_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LANGUAGE_CODE_RE = re.compile(r"[a-z]{2}")
CHAT_ACTIONS = (
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
)

# Limits stated in the brief/docs; they also hold if a future spec rewords the prose.
_KNOWN_LENGTHS: dict[tuple[str, str], tuple[int, int, str, bool]] = {
    ("sendMessage", "text"): (1, 4096, "characters", True),
    ("editMessageText", "text"): (1, 4096, "characters", True),
    ("answerCallbackQuery", "text"): (0, 200, "characters", False),
    ("InlineKeyboardButton", "callback_data"): (1, 64, "bytes", False),
    ("BotCommand", "command"): (1, 32, "characters", False),
    ("BotCommand", "description"): (1, 256, "characters", False),
    ("KeyboardButton", "text"): (1, 1 << 30, "characters", False),
    ("InlineKeyboardButton", "text"): (1, 1 << 30, "characters", False),
}


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type, with limits parsed from its description."""

    owner: str
    name: str
    types: tuple[str, ...]
    required: bool
    description: str
    length: tuple[int, int, str] | None = None  # (min, max, "characters" | "bytes")
    after_entities: bool = False
    num_range: tuple[int, int] | None = None
    items: tuple[int, int] | None = None
    const: str | None = None
    enum: tuple[str, ...] | None = None
    required_unless: str | None = None

    @classmethod
    def from_json(cls, owner: str, raw: Mapping[str, Any]) -> FieldSpec:
        """Build from a spec field entry, extracting limits from the prose."""
        name = str(raw["name"])
        types = tuple(str(t) for t in raw.get("types", ()))
        desc = str(raw.get("description", ""))
        only_string = types == ("String",)
        length: tuple[int, int, str] | None = None
        after_entities = "after entit" in desc
        num_range = items = None
        const = None
        enum: tuple[str, ...] | None = None
        if only_string and (m := _STR_LEN_RE.search(desc)):
            length = (int(m.group(1)), int(m.group(2)), m.group(3).lower())
        if (owner, name) in _KNOWN_LENGTHS:
            lo, hi, unit, after = _KNOWN_LENGTHS[(owner, name)]
            length, after_entities = (lo, hi, unit), after or after_entities
        if types in (("Integer",), ("Float",)) and (m := _NUM_RANGE_RE.search(desc)):
            num_range = (int(m.group(1)), int(m.group(2)))
        if (
            types
            and all(t.startswith("Array of ") for t in types)
            and (m := _ITEMS_RE.search(desc))
        ):
            items = (int(m.group(1)), int(m.group(2)))
        if name == "type" and only_string and (m := _CONST_RE.search(desc.strip().rstrip("."))):
            const = m.group(1)
        if only_string and (m := _ENUM_RE.search(desc)):
            values = tuple(re.findall(r"\"([^\"]+)\"", m.group(1)))
            enum = values or None
        if owner == "sendChatAction" and name == "action":
            enum = CHAT_ACTIONS
        required_unless = None
        if m := _REQUIRED_IF_NOT_RE.search(desc):
            required_unless = m.group(1)
        return cls(
            owner=owner,
            name=name,
            types=types,
            required=bool(raw.get("required", False)),
            description=desc,
            length=length,
            after_entities=after_entities,
            num_range=num_range,
            items=items,
            const=const,
            enum=enum,
            required_unless=required_unless,
        )


@dataclass(frozen=True)
class ObjectSpec:
    """A Bot API type: either an object with fields or a union of ``subtypes``."""

    name: str
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    subtypes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass
class _Ctx:
    """Per-validation context: names of uploaded multipart parts (for attach:// references)."""

    files: frozenset[str] = frozenset()


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"Boolean {json.dumps(value)}"
    if isinstance(value, int):
        return f"Integer {value}"
    if isinstance(value, float):
        return f"Float {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"String {shown!r}"
    if isinstance(value, list):
        return f"Array of {len(value)} items"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, UploadedFile):
        return "uploaded file"
    return type(value).__name__


class BotApiSpec:
    """The Bot API spec, able to validate a method call's parameters."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version = str(data.get("version", "unknown"))
        self.methods: dict[str, MethodSpec] = {}
        self.types: dict[str, ObjectSpec] = {}
        for name, raw in data.get("methods", {}).items():
            fields = {f["name"]: FieldSpec.from_json(name, f) for f in raw.get("fields", [])}
            self.methods[name] = MethodSpec(name, fields, tuple(raw.get("returns", ())))
        for name, raw in data.get("types", {}).items():
            if raw.get("subtypes"):
                self.types[name] = ObjectSpec(name, subtypes=tuple(raw["subtypes"]))
            else:
                fields = {f["name"]: FieldSpec.from_json(name, f) for f in raw.get("fields", [])}
                self.types[name] = ObjectSpec(name, fields=fields)
        self._method_by_lower = {name.lower(): name for name in self.methods}

    @classmethod
    def load(cls, path: Path | str) -> BotApiSpec:
        """Read the spec JSON file."""
        with Path(path).open(encoding="utf-8") as fh:
            return cls(json.load(fh))

    @classmethod
    def load_default(cls) -> BotApiSpec | None:
        """Load the spec found by ``find_spec_path``, or None if there is none."""
        path = find_spec_path()
        return cls.load(path) if path else None

    # --- lookups ---------------------------------------------------------------------------

    def canonical_method(self, name: str) -> str | None:
        """Spec spelling of a method name; Telegram matches method names case-insensitively."""
        return self._method_by_lower.get(name.lower())

    def param_types(self, method: str, param: str) -> tuple[str, ...] | None:
        """Declared types of a method parameter, or None if the parameter is unknown."""
        canonical = self.canonical_method(method)
        if canonical is None:
            return None
        spec = self.methods[canonical].fields.get(param)
        return spec.types if spec else None

    # --- decoding --------------------------------------------------------------------------

    def decode_params(self, method: str, raw: Mapping[str, str | UploadedFile]) -> dict[str, Any]:
        """Turn form/query values (JSON-encoded unless plain strings) into typed params."""
        return {
            name: value
            if isinstance(value, UploadedFile)
            else decode_form_value(value, self.param_types(method, name))
            for name, value in raw.items()
        }

    # --- validation ------------------------------------------------------------------------

    def validate(
        self, method: str, params: Mapping[str, Any], *, files: Iterable[str] = ()
    ) -> list[str]:
        """Return human-readable violations of the spec by this call (empty list = valid).

        ``files`` names extra multipart parts that ``attach://<name>`` values may refer to.
        """
        canonical = self.canonical_method(method)
        if canonical is None:
            return [f"unknown method {method!r}"]
        spec = self.methods[canonical]
        ctx = _Ctx(frozenset(files))
        errors: list[str] = []
        present = {k for k, v in params.items() if v is not None}
        for fname, fspec in spec.fields.items():
            if fspec.required and fname not in present:
                errors.append(f"{canonical}: missing required parameter {fname!r}")
        for key in params:
            if key not in spec.fields:
                errors.append(f"{canonical}: unknown parameter {key!r}")
        errors += self._conditional_requirements(canonical, spec.fields, present)
        for key, value in params.items():
            if key in spec.fields and value is not None:
                errors += self._check_field(
                    value, spec.fields[key], f"{canonical}.{key}", params, ctx
                )
        return errors

    def validate_object(self, type_name: str, value: Any, path: str | None = None) -> list[str]:
        """Validate a value (e.g. an Update or a method result) against a spec type."""
        return self._check(value, type_name, path or type_name, _Ctx())

    def _conditional_requirements(
        self, owner: str, fields: Mapping[str, FieldSpec], present: set[str]
    ) -> list[str]:
        errors: list[str] = []
        for fname, fspec in fields.items():
            other = fspec.required_unless
            if other and other in fields and fname not in present and other not in present:
                # e.g. editMessageText: text is "required if rich_message isn't specified".
                # chat_id/message_id vs inline_message_id is handled below as one unit.
                if other == "inline_message_id" or fname == "inline_message_id":
                    continue
                errors.append(f"{owner}: parameter {fname!r} is required when {other!r} is absent")
        chat_field = fields.get("chat_id")
        if chat_field is not None and chat_field.required_unless == "inline_message_id":
            has_inline = "inline_message_id" in present
            has_chat = "chat_id" in present and (
                "message_id" not in fields or "message_id" in present
            )
            if not has_inline and not has_chat:
                target = "chat_id and message_id" if "message_id" in fields else "chat_id"
                errors.append(f"{owner}: either {target} or inline_message_id is required")
            elif has_inline and "chat_id" in present:
                errors.append(f"{owner}: pass either chat_id or inline_message_id, not both")
        return errors

    # --- type checks -----------------------------------------------------------------------

    def _kind_matches(self, value: Any, texpr: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether the value has the right JSON kind for a type expression (ignoring details)."""
        if texpr.startswith("Array of "):
            return isinstance(value, list)
        if texpr == "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if texpr == "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if texpr == "String":
            return isinstance(value, str)
        if texpr in ("Boolean", "True"):
            return isinstance(value, bool)
        if texpr == "InputFile":
            return isinstance(value, UploadedFile) or (
                isinstance(value, str) and value.startswith("attach://")
            )
        if texpr == "KeyboardButton" and isinstance(value, str):
            return True
        obj = self.types.get(texpr)
        if obj is None:
            return True
        if obj.subtypes:
            if texpr in seen:
                return False
            return any(self._kind_matches(value, sub, seen | {texpr}) for sub in obj.subtypes)
        return isinstance(value, dict)

    def _check_union(
        self, value: Any, alternatives: Sequence[str], path: str, ctx: _Ctx
    ) -> list[str]:
        if len(alternatives) == 1:
            return self._check(value, alternatives[0], path, ctx)
        compatible = [alt for alt in alternatives if self._kind_matches(value, alt)]
        if not compatible:
            return [f"{path}: expected {' or '.join(alternatives)}, got {_describe(value)}"]
        results = [(alt, self._check(value, alt, path, ctx)) for alt in compatible]
        if any(not errs for _, errs in results):
            return []
        if len(results) == 1:
            return results[0][1]
        # Several object types fit the JSON kind: report against the one the caller most likely
        # meant (matching "type" discriminator, most known keys) rather than all of them.
        return max(results, key=lambda r: self._affinity(value, r[0]))[1]

    def _affinity(self, value: Any, texpr: str, depth: int = 0) -> int:
        obj = self.types.get(texpr)
        if obj is None or not isinstance(value, dict) or depth > 5:
            return 0
        if obj.subtypes:
            return max(self._affinity(value, sub, depth + 1) for sub in obj.subtypes)
        score = 0
        for key, item in value.items():
            fspec = obj.fields.get(key)
            if fspec is None:
                score -= 2
                continue
            score += 1
            if fspec.const is not None:
                score += 20 if item == fspec.const else -20
        score -= sum(1 for k, f in obj.fields.items() if f.required and k not in value)
        return score

    def _check(self, value: Any, texpr: str, path: str, ctx: _Ctx) -> list[str]:
        if texpr.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected {texpr}, got {_describe(value)}"]
            inner = texpr.removeprefix("Array of ")
            errors: list[str] = []
            for index, item in enumerate(value):
                errors += self._check_union(item, (inner,), f"{path}[{index}]", ctx)
            return errors
        if texpr in PRIMITIVES:
            if not self._kind_matches(value, texpr):
                return [f"{path}: expected {texpr}, got {_describe(value)}"]
            if texpr == "InputFile" and isinstance(value, str):
                name = value.removeprefix("attach://")
                if name not in ctx.files:
                    return [f"{path}: {value!r} refers to a file part that was not uploaded"]
            return []
        if texpr == "KeyboardButton" and isinstance(value, str):
            # "For simple text buttons, String can be used instead of this object".
            return [] if value else [f"{path}: button text must not be empty"]
        obj = self.types.get(texpr)
        if obj is None:
            return []  # a type the spec mentions but does not define; nothing to check
        if obj.subtypes:
            return self._check_union(value, obj.subtypes, path, ctx)
        if not isinstance(value, dict):
            return [f"{path}: expected {texpr} object, got {_describe(value)}"]
        return self._check_object(value, obj, path, ctx)

    def _check_object(
        self, value: Mapping[str, Any], obj: ObjectSpec, path: str, ctx: _Ctx
    ) -> list[str]:
        errors: list[str] = []
        present = {k for k, v in value.items() if v is not None}
        for fname, fspec in obj.fields.items():
            if fspec.required and fname not in present:
                errors.append(f"{path}: missing required field {fname!r} of {obj.name}")
        for key in value:
            if key not in obj.fields:
                errors.append(f"{path}: unknown field {key!r} for {obj.name}")
        errors += self._conditional_requirements(f"{path} ({obj.name})", obj.fields, present)
        for key, item in value.items():
            if key in obj.fields and item is not None:
                errors += self._check_field(item, obj.fields[key], f"{path}.{key}", value, ctx)
        errors += _object_rules(obj.name, value, path)
        return errors

    def _check_field(
        self,
        value: Any,
        fspec: FieldSpec,
        path: str,
        siblings: Mapping[str, Any],
        ctx: _Ctx,
    ) -> list[str]:
        errors = self._check_union(value, fspec.types, path, ctx)
        if errors:
            return errors
        if isinstance(value, str):
            errors += self._check_string(value, fspec, path, siblings)
        elif isinstance(value, int | float) and not isinstance(value, bool) and fspec.num_range:
            lo, hi = fspec.num_range
            if not lo <= value <= hi:
                errors.append(f"{path}: must be between {lo} and {hi}, got {value}")
        elif isinstance(value, list) and fspec.items:
            lo, hi = fspec.items
            if not lo <= len(value) <= hi:
                errors.append(f"{path}: must contain {lo}-{hi} items, got {len(value)}")
        return errors

    def _check_string(
        self, value: str, fspec: FieldSpec, path: str, siblings: Mapping[str, Any]
    ) -> list[str]:
        errors: list[str] = []
        name = fspec.name
        if name.endswith("parse_mode") and value not in PARSE_MODES:
            errors.append(
                f"{path}: unsupported parse mode {value!r}; use one of {', '.join(PARSE_MODES)}"
            )
        if fspec.const is not None and value != fspec.const:
            errors.append(f"{path}: must be {fspec.const!r}, got {value!r}")
        if fspec.enum is not None and value not in fspec.enum:
            errors.append(f"{path}: must be one of {', '.join(fspec.enum)}; got {value!r}")
        iso_639 = "two-letter ISO 639-1 language code" in fspec.description
        if iso_639 and value and not _LANGUAGE_CODE_RE.fullmatch(value):
            errors.append(f"{path}: must be a two-letter ISO 639-1 code or empty, got {value!r}")
        if (fspec.owner, name) == ("BotCommand", "command") and not _BOT_COMMAND_RE.fullmatch(
            value
        ):
            errors.append(
                f"{path}: bot command must be 1-32 characters of a-z, 0-9 and _, got {value!r}"
            )
        if (fspec.owner, name) == ("setWebhook", "secret_token") and not (
            _SECRET_TOKEN_RE.fullmatch(value)
        ):
            errors.append(f"{path}: secret token must be 1-256 characters of A-Z, a-z, 0-9, _, -")
        if fspec.length is None:
            return errors
        lo, hi, unit = fspec.length
        measured = value
        if fspec.after_entities:
            mode = siblings.get(f"{name}_parse_mode", siblings.get("parse_mode"))
            if isinstance(mode, str) and mode in PARSE_MODES:
                try:
                    measured = parse_formatted(value, mode).text
                except EntityParseError as exc:
                    return [*errors, f"{path}: {exc}"]
            # Telegram trims surrounding whitespace before measuring ("message text is empty").
            measured = measured.strip()
        size = len(measured.encode("utf-8")) if unit == "bytes" else len(measured)
        if not lo <= size <= hi:
            what = f"{lo}-{hi} {unit}" if hi < (1 << 30) else f"at least {lo} {unit}"
            suffix = " after entities parsing" if fspec.after_entities else ""
            errors.append(f"{path}: must be {what}{suffix}, got {size}")
        return errors


def _object_rules(type_name: str, value: Mapping[str, Any], path: str) -> list[str]:
    """Documented cross-field rules the JSON spec cannot express."""
    if type_name == "InlineKeyboardButton":
        # "Exactly one of the fields other than text, icon_custom_emoji_id, and style must be used"
        actions = [k for k in value if k not in ("text", "icon_custom_emoji_id", "style")]
        if len(actions) != 1:
            return [
                f"{path}: an inline keyboard button needs exactly one action field "
                f"(callback_data, url, ...), got {actions or 'none'}"
            ]
    if type_name == "KeyboardButton":
        actions = [k for k in value if k not in ("text", "icon_custom_emoji_id", "style")]
        if len(actions) > 1:
            return [f"{path}: a keyboard button may use at most one action field, got {actions}"]
    return []


def decode_form_value(raw: str, types: Sequence[str] | None) -> Any:
    """Decode one form/query value using the parameter's declared types.

    python-telegram-bot sends plain strings raw and everything else JSON-encoded, so a value is
    only JSON-decoded when the parameter can hold something other than a String. Unknown
    parameters (``types is None``) are decoded leniently so that validation can report them.
    """
    if types is None:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if set(types) <= {"String"}:
        return raw
    if "Integer" in types and re.fullmatch(r"-?\d+", raw.strip()):
        return int(raw)
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(decoded, str) and "String" in types:
        # A JSON string literal for a String-capable parameter: PTB would have sent it raw, so
        # the quotes are part of the value.
        return raw
    return decoded
