"""``xladdin ARGV`` in a process of its own, akshare's HTTP answered at the transport layer, under a file-size limit.

Run as ``python tests/_akshare_child.py FSIZE ARGV...``: the ETF and index routes of ``tests/_akshare_bodies.py``
(bodies from the real values of ../shared/data/real/canonical) are mounted with :func:`_transport.serve`, then
RLIMIT_FSIZE's soft limit is set to FSIZE bytes (0: no limit) and ``xladdin.ops.cli.main(ARGV)`` runs; the exit
code is its return value. The limit is the client's disk: while a route builds its answer (the SZSE body is an
xlsx that openpyxl writes through a temporary file) the soft limit is lifted to the hard one, as the server's
own disk is not the client's.
"""
from __future__ import annotations

import resource
import sys
from pathlib import Path

from _akshare_bodies import RealETFs, etf_routes, index_closes, index_routes
from _transport import serve

from xladdin.ops.cli import main

REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "canonical"


def server_side(answer):
    """``answer`` run without the client's file-size limit."""
    def answer_unlimited(seen):
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        try:
            return answer(seen)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    return answer_unlimited


def run(fsize: int, argv: list[str]) -> int:
    real = RealETFs(REAL_DIR)
    with serve() as http:
        etf_routes(http, real)
        index_routes(http, index_closes(REAL_DIR))
        for route in http.routes:
            if callable(route.answer):
                route.answer = server_side(route.answer)
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        return main(argv)


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1]), sys.argv[2:]))
