"""A local Telegram Bot API server that validates every call against the official spec."""

from bot.sandbox.actors import SandboxGroup, SandboxUser, iter_buttons
from bot.sandbox.formatting import EntityParseError, ParsedText, parse_formatted
from bot.sandbox.models import ApiCall, ApiError, Faults, RateLimits, SentMessage, StoredFile
from bot.sandbox.server import BotApiSandbox, ChatState, WebhookConfig
from bot.sandbox.spec import BotApiSpec, UploadedFile, decode_form_value, find_spec_path

__all__ = [
    "ApiCall",
    "ApiError",
    "BotApiSandbox",
    "BotApiSpec",
    "ChatState",
    "EntityParseError",
    "Faults",
    "ParsedText",
    "RateLimits",
    "SandboxGroup",
    "SandboxUser",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "WebhookConfig",
    "decode_form_value",
    "find_spec_path",
    "iter_buttons",
    "parse_formatted",
]
