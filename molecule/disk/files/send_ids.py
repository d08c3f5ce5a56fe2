#!/usr/bin/python3
"""Send messages with unique ids to Postfix on 127.0.0.1:25 and record each final reply.

Test helper of the disk scenario (not part of the collection). Usage:
    send_ids.py PREFIX FIRST COUNT [--size BYTES]
Prints one JSON object per message: {"id": "PREFIX-N", "code": 250|452|..., "reply": "..."}.
A message refused at MAIL FROM is not sent; the caller decides whether to send it again.
"""

import json
import smtplib
import sys


def send(message_id, size):
    body = f"Subject: {message_id}\nX-SBS-Id: {message_id}\n\n" + "x" * size + "\n"
    client = smtplib.SMTP("127.0.0.1", 25, timeout=30)
    try:
        client.ehlo("client.example.test")
        code, reply = client.mail("sender@example.test")
        if code == 250:
            code, reply = client.rcpt("rcpt@example.test")
        if code == 250:
            code, reply = client.data(body.encode())
        return code, reply.decode(errors="replace")
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()


def main():
    prefix, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    size = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--size" else 1000
    for number in range(first, first + count):
        message_id = f"{prefix}-{number}"
        code, reply = send(message_id, size)
        print(json.dumps({"id": message_id, "code": code, "reply": reply}), flush=True)


if __name__ == "__main__":
    main()
