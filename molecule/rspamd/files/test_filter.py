#!/usr/bin/python3
"""A real after-queue SMTP content filter for the rspamd scenario, standard library only.

``test_filter.py LISTEN_PORT REINJECT_PORT``: accepts SMTP on 127.0.0.1:LISTEN_PORT (where
Postfix's ``content_filter`` hands every queued message), adds one header,
``X-SBS-Test-Filter: passed``, and hands the message back to Postfix on
127.0.0.1:REINJECT_PORT with the same envelope, answering Postfix only after the re-injection
succeeded (250) or with 451 when it did not, so a message is never lost in the filter. It
stands in for a scanner that is not a milter (amavisd-new and the like); rspamd itself speaks
only milter and HTTP.
"""

import smtplib
import socketserver
import sys

HEADER = b"X-SBS-Test-Filter: passed\r\n"


class Session(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def read_data(self):
        lines = []
        while True:
            line = self.rfile.readline()
            if not line or line in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)

    def handle(self):
        sender, recipients = None, []
        self.reply("220 test-filter ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply(
                    "250-test-filter\r\n250 8BITMIME" if verb == "EHLO" else "250 test-filter"
                )
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].split()[0].strip("<>"))
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                message = HEADER + self.read_data()
                try:
                    with smtplib.SMTP("127.0.0.1", REINJECT_PORT, timeout=60) as client:
                        client.sendmail(sender, recipients, message)
                except (OSError, smtplib.SMTPException) as exc:
                    self.reply(f"451 4.3.0 re-injection failed: {exc}"[:200])
                else:
                    self.reply("250 2.0.0 Ok: passed the test filter")
            elif verb == "RSET":
                sender, recipients = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Command not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    LISTEN_PORT, REINJECT_PORT = int(sys.argv[1]), int(sys.argv[2])
    with Server(("127.0.0.1", LISTEN_PORT), Session) as server:
        server.serve_forever()
