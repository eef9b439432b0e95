"""Simulated Telegram users and groups that talk to a ``BotApiSandbox``."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bot.sandbox.formatting import utf16_len
from bot.sandbox.models import SentMessage

if TYPE_CHECKING:
    from bot.sandbox.server import BotApiSandbox, ChatState


def _command_entities(text: str) -> list[dict[str, Any]]:
    """A bot_command entity for a leading /command (with its optional @botname suffix)."""
    if not text.startswith("/"):
        return []
    token = text.split(maxsplit=1)[0] if text.strip() else text
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(token)}]


class SandboxUser:
    """A simulated Telegram user talking to the bot in a private chat."""

    def __init__(
        self,
        sandbox: BotApiSandbox,
        user_id: int,
        first_name: str,
        language_code: str | None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.username = username
        self.last_name = last_name

    @property
    def chat_id(self) -> int:
        """Id of the private chat with the bot."""
        return self.id

    def as_user(self) -> dict[str, Any]:
        """This user as a Bot API User object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _post(self, chat_id: int, content: dict[str, Any]) -> int:
        sandbox = self.sandbox
        chat = sandbox.chat(chat_id)
        message = sandbox._new_message(chat, self.as_user(), content)
        if chat.type != "private" and not self._group_visible(chat, message):
            sandbox.filtered_updates.append({"message": message})
            return 0
        return sandbox.inject_update({"message": copy.deepcopy(message)})

    def _group_visible(self, chat: ChatState, message: dict[str, Any]) -> bool:
        sandbox = self.sandbox
        if chat.bot_status not in ("member", "administrator"):
            return False
        if not sandbox.privacy_mode or chat.bot_status == "administrator":
            return True
        text = str(message.get("text", message.get("caption", "")))
        reply = message.get("reply_to_message") or {}
        return (
            text.startswith("/")
            or f"@{sandbox.bot_username}".lower() in text.lower()
            or reply.get("from", {}).get("id") == sandbox.bot_id
        )

    def _text_content(self, chat_id: int, text: str, reply_to: int | None) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        if reply_to is not None:
            target = self.sandbox.chat(chat_id).messages.get(reply_to)
            if target is None:
                raise LookupError(f"no message {reply_to} in chat {chat_id}")
            content["reply_to_message"] = {
                k: v for k, v in target.items() if k != "reply_to_message"
            }
        return content

    def send_text(self, text: str, *, reply_to: int | None = None) -> int:
        """Send a text message to the bot; returns the update id."""
        return self._post(self.id, self._text_content(self.id, text, reply_to))

    def send_sticker(self, emoji: str = "👍") -> int:
        """Send a sticker; returns the update id."""
        stored = self.sandbox._store_file(b"RIFF\x00\x00\x00\x00WEBP", "stickers", extension="webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return self._post(self.id, {"sticker": sticker})

    def send_photo(self, data: bytes, *, caption: str | None = None) -> int:
        """Send a photo; returns the update id. The bot can fetch it with getFile."""
        stored = self.sandbox._store_file(data, "photos", mime_type="image/jpeg", extension="jpg")
        content: dict[str, Any] = {"photo": self.sandbox._photo_sizes(stored)}
        if caption:
            content["caption"] = caption
        return self._post(self.id, content)

    def send_document(
        self,
        data: bytes,
        filename: str = "document.bin",
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
    ) -> int:
        """Send a file; returns the update id. The bot can fetch it with getFile."""
        stored = self.sandbox._store_file(
            data, "documents", file_name=filename, mime_type=mime_type
        )
        content: dict[str, Any] = {"document": self.sandbox._document(stored)}
        if caption:
            content["caption"] = caption
        return self._post(self.id, content)

    def press(
        self,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        force: bool = False,
    ) -> int:
        """Press an inline button of a bot message; returns the update id.

        Raises LookupError if the message does not exist or has no button with this
        callback_data, unless ``force`` (e.g. to simulate a stale or forged button press).
        """
        sandbox = self.sandbox
        chat = sandbox.chat(self.id if chat_id is None else chat_id)
        message = chat.messages.get(message_id)
        if not force:
            if message is None:
                raise LookupError(f"no message {message_id} in chat {chat.id}")
            buttons = list(iter_buttons(message.get("reply_markup")))
            if not any(b.get("callback_data") == callback_data for b in buttons):
                raise LookupError(
                    f"message {message_id} has no button with callback_data {callback_data!r}; "
                    f"buttons: {buttons!r}"
                )
        query_id = str(4_000_000_000_000_000 + sandbox._next_query)
        sandbox._next_query += 1
        shown: dict[str, Any] = (
            copy.deepcopy(message)
            if message is not None
            else {"chat": dict(chat.chat), "message_id": message_id, "date": 0}
        )
        query = {
            "id": query_id,
            "from": self.as_user(),
            "message": shown,
            "chat_instance": str(abs(chat.id) * 1_000_003 + 17),
            "data": callback_data,
        }
        sandbox._register_query(query_id, self.id, chat.id, message_id)
        update_id = sandbox.inject_update({"callback_query": query})
        sandbox._query_by_update[update_id] = query_id
        return update_id

    def block_bot(self) -> int:
        """Block the bot: sends then fail with 403, and the bot gets a my_chat_member update."""
        chat = self.sandbox.chat(self.id)
        chat.blocked = True
        return self.sandbox._my_chat_member(chat, self.as_user(), "member", "kicked")

    def unblock_bot(self) -> int:
        """Unblock the bot (my_chat_member update back to "member")."""
        chat = self.sandbox.chat(self.id)
        chat.blocked = False
        return self.sandbox._my_chat_member(chat, self.as_user(), "kicked", "member")

    def messages(self) -> list[SentMessage]:
        """Messages the bot sent to this user."""
        return self.sandbox.messages_to(self.id)

    async def wait_for_messages(
        self,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages to this user."""
        return await self.sandbox.wait_for_messages(self.id, count, timeout)


class SandboxGroup:
    """A simulated group or supergroup chat."""

    def __init__(self, sandbox: BotApiSandbox, chat_id: int) -> None:
        self.sandbox = sandbox
        self.id = chat_id

    @property
    def state(self) -> ChatState:
        """The chat's state."""
        return self.sandbox.chat(self.id)

    def send_text(self, user: SandboxUser, text: str, *, reply_to: int | None = None) -> int:
        """A message from ``user`` in this group; returns the update id (0 if privacy mode
        kept it from the bot)."""
        return user._post(self.id, user._text_content(self.id, text, reply_to))

    def add_bot(self, by: SandboxUser, *, admin: bool = False) -> int:
        """``by`` adds the bot to the group (my_chat_member update); returns the update id."""
        old = self.state.bot_status
        self.state.bot_status = "administrator" if admin else "member"
        return self.sandbox._my_chat_member(self.state, by.as_user(), old, self.state.bot_status)

    def remove_bot(self, by: SandboxUser) -> int:
        """``by`` removes (bans) the bot from the group; returns the update id."""
        old = self.state.bot_status
        self.state.bot_status = "kicked"
        return self.sandbox._my_chat_member(self.state, by.as_user(), old, "kicked")

    def messages(self) -> list[SentMessage]:
        """Messages the bot sent to this group."""
        return self.sandbox.messages_to(self.id)


def iter_buttons(markup: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    """Inline keyboard buttons of a reply_markup dict."""
    for row in (markup or {}).get("inline_keyboard", []):
        yield from row
