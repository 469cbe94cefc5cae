"""A stand-in for the Rasa server *process*, for the tests of how ``govchat nlu serve`` stops it.

Run by a fake interpreter (``fake_rasa_env``) with Rasa's command line, it listens on the
``--interface``/``--port`` given, answers ``GET /status`` with a loaded model (or 503 for ever
when ``FAKE_RASA_NEVER_READY`` is set, a Rasa still loading) and ``POST /model/parse`` with the
fallback intent, and writes its process id to ``FAKE_RASA_PID_FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NEVER_READY = bool(os.environ.get("FAKE_RASA_NEVER_READY"))


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if NEVER_READY:
            self._answer(503, {"error": "loading"})
        else:
            self._answer(200, {"model_file": "fake.tar.gz"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(200, {"intent": {"name": "nlu_fallback", "confidence": 1.0}, "entities": []})

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args, _rest = parser.parse_known_args(argv)
    server = ThreadingHTTPServer((args.interface, args.port), Handler)
    Path(os.environ["FAKE_RASA_PID_FILE"]).write_text(str(os.getpid()))
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
