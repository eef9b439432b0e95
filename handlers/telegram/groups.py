"""Groups and channels: the bot works in private chats only."""

from telegram import Chat, Update
from telegram.ext import ApplicationHandlerStop

from handlers.telegram.context import CompanionContext


async def leave_non_private(update: Update, context: CompanionContext) -> None:
    """Say once that this is a private-chat bot, leave, and let no other handler run."""
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        return
    member = update.my_chat_member
    if member is not None and member.new_chat_member.status in ("left", "kicked"):
        raise ApplicationHandlerStop  # we were removed: nothing to say
    user = update.effective_user
    await context.chat.group_chat(
        update.update_id,
        chat.id,
        user.language_code if user else None,
        added=member is not None,
    )
    raise ApplicationHandlerStop
