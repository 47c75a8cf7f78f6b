#!/usr/bin/env python3
"""A tiny VRPlatform stand-in for scripts/peak-memory.sh (Python 3 standard library only).

Answers `POST /auth/embed/session` (with an `x-api-key` header) with a fixed embed session;
anything else is a 404. Listens on 127.0.0.1, on the port given as the first argument (default:
any free port), and prints the port on stdout once it is listening.
"""

import http.server
import json
import sys

SESSION = json.dumps({
    "accessToken": "t",
    "expiresAt": "2099-01-01T00:00:00.000Z",
    "tenantId": "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
    "userId": "11111111-1111-4111-8111-111111111111",
}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if self.path.split("?")[0] == "/auth/embed/session" and self.headers.get("x-api-key"):
            self.answer(200, SESSION)
        else:
            self.answer(404, b'{"code":"NOT_FOUND","message":"Not found"}')

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
