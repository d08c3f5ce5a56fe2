#!/usr/bin/python3
# The outside client of the topology scenario: send COUNT messages to RCPT through HOST:25,
# each in its own SMTP session, and print one JSON line: how many were accepted and, for the
# first refusal, at which stage (connect, helo, mail, rcpt, data) with the server's reply.
#
#   smtp-try HOST RCPT [--count N] [--tag TAG] [--sender ADDR]
import argparse
import json
import smtplib
import sys


def send_one(host, sender, rcpt, body):
    stage = "connect"
    try:
        with smtplib.SMTP(host, 25, timeout=30) as smtp:
            stage = "helo"
            code, text = smtp.ehlo("client.example.net")
            if code != 250:
                return {"stage": stage, "code": code, "text": text.decode()}
            stage = "mail"
            code, text = smtp.mail(sender)
            if code != 250:
                return {"stage": stage, "code": code, "text": text.decode()}
            stage = "rcpt"
            code, text = smtp.rcpt(rcpt)
            if code not in (250, 251):
                return {"stage": stage, "code": code, "text": text.decode()}
            stage = "data"
            code, text = smtp.data(body)
            if code != 250:
                return {"stage": stage, "code": code, "text": text.decode()}
    except smtplib.SMTPResponseException as exc:
        return {
            "stage": stage,
            "code": exc.smtp_code,
            "text": exc.smtp_error.decode(errors="replace"),
        }
    except (OSError, smtplib.SMTPException) as exc:
        return {"stage": stage, "code": None, "text": str(exc)}
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("rcpt")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--tag", default="sbs-topology")
    parser.add_argument("--sender", default="someone@example.net")
    args = parser.parse_args()
    sent, refused = 0, None
    for number in range(1, args.count + 1):
        body = (
            f"From: <{args.sender}>\r\nTo: <{args.rcpt}>\r\n"
            f"Subject: {args.tag} {number}\r\nX-Sbs-Test: {args.tag}-{number}\r\n\r\n"
            f"test message {number} of {args.count}\r\n"
        )
        refused = send_one(args.host, args.sender, args.rcpt, body)
        if refused:
            break
        sent += 1
    print(json.dumps({"sent": sent, "refused": refused}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
