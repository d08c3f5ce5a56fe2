#!/usr/bin/python3
"""Send one message over SMTP and print where the server refused it, or that it accepted it.

``send_smtp.py HOST PORT SENDER RCPT FILE [XCLIENT_ADDR]``, for the rspamd scenario's verify.
With XCLIENT_ADDR the client asks Postfix (smtpd_authorized_xclient_hosts) to treat the
session as coming from that address, so Postfix and rspamd see an outside client, not
loopback. Prints one JSON object: ``stage`` (accepted, CONNECT, XCLIENT, MAIL, RCPT or DATA),
``code`` (the SMTP reply code) and ``message`` (the reply text).
"""

import json
import smtplib
import sys


def refused(stage, code, message):
    text = message.decode() if isinstance(message, bytes) else str(message)
    return {"stage": stage, "code": code, "message": text}


def session(client, sender, rcpt, data, xclient):
    client.ehlo("client.outside.test")
    if xclient:
        code, message = client.docmd("XCLIENT", f"ADDR={xclient} NAME=[UNAVAILABLE]")
        if code != 220:
            return refused("XCLIENT", code, message)
        client.ehlo("client.outside.test")
    for stage, command in (("MAIL", f"MAIL FROM:<{sender}>"), ("RCPT", f"RCPT TO:<{rcpt}>")):
        code, message = client.docmd(command)
        if code >= 400:
            return refused(stage, code, message)
    try:
        code, message = client.data(data)
    except smtplib.SMTPResponseException as exc:
        return refused("DATA", exc.smtp_code, exc.smtp_error)
    if code >= 400:
        return refused("DATA", code, message)
    return refused("accepted", code, message)


def main():
    host, port, sender, rcpt, path = sys.argv[1:6]
    xclient = sys.argv[6] if len(sys.argv) > 6 else None
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        client = smtplib.SMTP(host, int(port), timeout=120)
    except (OSError, smtplib.SMTPException) as exc:
        print(json.dumps(refused("CONNECT", 0, exc)))
        return
    try:
        result = session(client, sender, rcpt, data, xclient)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
