"""Small network helpers shared by the tests that run real servers on 127.0.0.1."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (aiosmtpd's Controller needs a literal port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
