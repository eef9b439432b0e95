"""`companion demo`: the whole system on one computer, with invented people and no Telegram.

`bot.demo.data` writes the demo programme (staff for every role, a cohort halfway through,
participants in different states) through the ordinary services and marks the database as
demo data; `bot.demo.stack` runs the local Bot API sandbox, the bot, the dashboard and the
phone page (`bot.sandbox.phone`) on 127.0.0.1 only.
"""
