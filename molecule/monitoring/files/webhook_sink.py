#!/usr/bin/python3
"""A webhook receiver for the monitoring scenario: every POST body is stored as one file
(1.json, 2.json, ...) in the directory given, and answered 204. Loopback only."""

import http.server
import os
import sys

DIRECTORY = sys.argv[1]
PORT = int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        number = len(os.listdir(DIRECTORY)) + 1
        with open(os.path.join(DIRECTORY, f"{number}.json"), "wb") as handle:
            handle.write(body)
        self.send_response(204)
        self.end_headers()


http.server.HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
