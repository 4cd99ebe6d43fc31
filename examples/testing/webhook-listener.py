#!/usr/bin/env python3
"""A local stand-in for a chat webhook, for the examples' tests: appends each POSTed body as one
line to OUT and answers 200 (or 503 while the file FAIL exists). Writes its port to PORTFILE."""

import http.server
import os
import sys

out, port_file = sys.argv[1], sys.argv[2]


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if os.path.exists(out + ".fail"):
            self.send_response(503)
            self.end_headers()
            return
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
