#!/usr/bin/python3
"""Talk to port 25 from other loopback addresses, as the clients the inbound scenario needs,
and print what each got as JSON (molecule/inbound/verify.yml asserts on it).

Clients (none is in mynetworks):
  127.0.0.2  listed in dnsbl.test (weight 2) and second.test (1): score 3, refused by postscreen
  127.0.0.3  listed nowhere: passes; also sends the header/body/sender cases
  127.0.0.4  talks before the greeting: dropped
  127.0.0.5  listed in second.test only: score 1, below the threshold, passes
  127.0.0.6  on the permanent deny list
  127.0.0.7  on the permanent allow list
"""

import json
import smtplib
import socket
import sys
import time

HOST = "127.0.0.1"
SENDER = "probe@sender.test"
RECIPIENT = "inbound@sink.test"


def send(source, subject="sbs inbound probe", body="hello", sender=SENDER):
    message = f"From: {sender}\r\nTo: {RECIPIENT}\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    try:
        with smtplib.SMTP(
            HOST, 25, local_hostname="client.example.test", source_address=(source, 0), timeout=30
        ) as smtp:
            smtp.sendmail(sender, [RECIPIENT], message)
        return "ok"
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = exc.recipients[RECIPIENT]
        return f"{code} {text.decode()}"
    except smtplib.SMTPResponseException as exc:
        return f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
    except (smtplib.SMTPException, OSError) as exc:
        return f"error {exc!r}"


def pregreet(source):
    """Send EHLO before postscreen's greeting, then read until the server closes. postscreen
    drops the connection with unread input from the client, so the kernel may answer with a
    reset (and discard the 521 it had queued): a reset counts as closed."""
    received = b""
    with socket.create_connection((HOST, 25), timeout=30, source_address=(source, 0)) as conn:
        conn.sendall(b"EHLO pregreet.example.test\r\n")
        started = time.monotonic()
        while time.monotonic() - started < 20:
            try:
                chunk = conn.recv(4096)
            except ConnectionResetError:
                return {
                    "received": received.decode(errors="replace"),
                    "closed": True,
                    "reset": True,
                }
            if not chunk:
                return {
                    "received": received.decode(errors="replace"),
                    "closed": True,
                    "reset": False,
                }
            received += chunk
    return {"received": received.decode(errors="replace"), "closed": False, "reset": False}


def main():
    result = {
        "listed": send("127.0.0.2"),
        "clean": send("127.0.0.3"),
        "pregreet": pregreet("127.0.0.4"),
        "below_threshold": send("127.0.0.5"),
        "denylisted": send("127.0.0.6"),
        "allowlisted": send("127.0.0.7"),
        "header_check": send("127.0.0.3", subject="sbs-forbidden-subject now"),
        "body_check": send("127.0.0.3", body="this has sbs-forbidden-body inside"),
        "unknown_sender_domain": send("127.0.0.3", sender="probe@nowhere.sender.test"),
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
