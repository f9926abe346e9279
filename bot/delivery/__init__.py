"""Delivering a pass: one `PassDelivery` port (`DeliveryRouter`) over every way there is.

    router.py      DeliveryRouter: dispatch on ``request.delivery``, audit the receipt, send
                   the optional notice to the person through another method
    channels.py    one PassChannel per method: chat to the requester, chat to the target,
                   SMS, email; each composes what the person reads and hands it to a transport
    ports.py       the transports as Protocols: SmsSender (twilio.py, acs.py), TeamsChat
                   (bot/teams/chat.py); email goes through the domain's Mailer (Graph)
    messages.py    the words of text messages and notices; email.py the Jinja2 email
    settings.py    the delivery settings checked together, and read for the domain

The pass value is in memory only while a channel composes and sends it: never in a log, an
audit row, an error or a receipt.
"""
