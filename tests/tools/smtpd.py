"""A real SMTP server on 127.0.0.1 for the tests, on aiosmtpd.

Usage: smtpd.py DIR. Prints its port on the first line of stdout, then serves until stdin
closes. Each message accepted is written to DIR/NNN.eml as it came, its recipients to
DIR/NNN.rcpt; while DIR/fail exists, every message is answered 451 (a transient failure).
Exits 3 when aiosmtpd is not installed.
"""

import pathlib
import socket
import sys

try:
    from aiosmtpd.controller import Controller
except ImportError:
    sys.exit(3)


class Handler:
    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if (self.dir / "fail").exists():
            return "451 4.3.0 Mailbox busy, try again later"
        self.count += 1
        name = f"{self.count:03}"
        (self.dir / f"{name}.eml").write_bytes(envelope.original_content)
        (self.dir / f"{name}.rcpt").write_text("\n".join(envelope.rcpt_tos))
        return "250 2.0.0 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    controller = Controller(Handler(sys.argv[1]), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()


main()
