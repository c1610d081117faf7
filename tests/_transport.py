"""HTTP answered at the transport layer, for testing data clients that run a vendor library's own code.

Every request the ``requests`` library sends ends in :meth:`requests.adapters.HTTPAdapter.send`
(module-level ``requests.get``/``post`` and sessions alike). :class:`Transport` replaces that one
method: a request is answered from the registered routes (host, path, query or JSON-body
predicate), and a request no route matches **fails the test** (it is recorded and raised, and
:func:`serve` asserts at exit that none happened) — nothing ever reaches the network.

What each request carried (method, host, path, query, JSON body, the ``timeout`` requests passed
down) is kept in :attr:`Transport.log`, so tests count requests and check timeouts there.

A route may also forward a request to a real server on the loopback interface
(:meth:`Transport.forward`): the original ``HTTPAdapter.send`` then opens a real socket, so
timeouts are those of urllib3, not simulated.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

Answer = bytes | str | dict | list | Callable[["Seen"], Any]


@dataclass
class Seen:
    """One request as the transport saw it."""

    method: str
    host: str
    path: str
    params: dict[str, str]
    body: Any
    timeout: Any
    route: str = ""


@dataclass
class Route:
    name: str
    host: str
    path: str
    when: Callable[[Seen], bool]
    answer: Answer
    method: str | None = None
    status: int = 200
    content_type: str = "application/json;charset=UTF-8"
    hits: int = 0


@dataclass
class Transport:
    """Routes answering HTTP requests; see the module docstring."""

    routes: list[Route] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)
    unmatched: list[Seen] = field(default_factory=list)
    _real_send: Callable | None = None

    def add(self, host: str, path: str, answer: Answer, *, params: dict | None = None,
            when: Callable[[Seen], bool] | None = None, method: str | None = None, status: int = 200,
            content_type: str | None = None, name: str = "") -> Route:
        """Answer requests to ``host``/``path`` whose query contains ``params`` (and ``when`` holds).

        ``answer``: bytes or text as is; a dict or list as JSON; a callable of the :class:`Seen`
        request returning any of these (or a :class:`requests.Response`)."""
        want = {k: str(v) for k, v in (params or {}).items()}

        def matches(seen: Seen) -> bool:
            return all(seen.params.get(k) == v for k, v in want.items()) and (when is None or when(seen))

        ctype = content_type or ("application/json;charset=UTF-8" if isinstance(answer, (dict, list))
                                 else "application/octet-stream" if isinstance(answer, bytes)
                                 else "text/plain;charset=UTF-8")
        route = Route(name or f"{host}{path} {want}", host, path, matches, answer, method, status, ctype)
        self.routes.append(route)
        return route

    def forward(self, host: str, path: str, to: str, **kw) -> Route:
        """Send requests to ``host``/``path`` on to ``to`` (``http://127.0.0.1:PORT``) over a real socket."""
        def answer(seen: Seen):
            return ("forward", to)
        return self.add(host, path, answer, **kw)

    def count(self, host: str | None = None, path: str | None = None) -> int:
        return sum(1 for s in self.log if (host is None or s.host == host) and (path is None or s.path == path))

    def send(self, adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        u = urlsplit(request.url)
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="replace")
        if isinstance(body, str) and body[:1] in "{[":
            try:
                body = json.loads(body)
            except ValueError:
                pass
        seen = Seen(request.method, u.hostname or "", u.path, dict(parse_qsl(u.query, keep_blank_values=True)),
                    body, kwargs.get("timeout"))
        self.log.append(seen)
        for route in self.routes:
            if route.host == seen.host and route.path == seen.path and (route.method in (None, seen.method)) \
                    and route.when(seen):
                route.hits += 1
                seen.route = route.name
                out = route.answer(seen) if callable(route.answer) else route.answer
                if isinstance(out, tuple) and out[:1] == ("forward",):
                    target = urlsplit(out[1])
                    request.url = urlunsplit((target.scheme, target.netloc, u.path, u.query, ""))
                    return self._real_send(adapter, request, **kwargs)
                if isinstance(out, requests.Response):
                    return out
                return _response(request, out, route.status, route.content_type)
        self.unmatched.append(seen)
        raise AssertionError(f"no answer registered for {seen.method} {seen.host}{seen.path} {seen.params} "
                             f"{seen.body if seen.body else ''} (the test never reaches the network)")


def _response(request: requests.PreparedRequest, out: Any, status: int, content_type: str) -> requests.Response:
    if isinstance(out, (dict, list)):
        content = json.dumps(out, ensure_ascii=False).encode("utf-8")
    elif isinstance(out, str):
        content = out.encode("utf-8")
    else:
        content = bytes(out)
    r = requests.Response()
    r.status_code = status
    r._content = content
    r.headers = CaseInsensitiveDict({"Content-Type": content_type, "Content-Length": str(len(content))})
    r.encoding = "utf-8"
    r.reason = "OK" if status < 400 else "Error"
    r.url = request.url
    r.request = request
    return r


@contextmanager
def serve(transport: Transport | None = None):
    """Replace ``HTTPAdapter.send`` by ``transport`` for the block; fail if any request went unanswered."""
    transport = transport or Transport()
    transport._real_send = HTTPAdapter.send

    def send(adapter, request, **kwargs):
        return transport.send(adapter, request, **kwargs)

    with mock.patch.object(HTTPAdapter, "send", send):
        yield transport
    assert not transport.unmatched, f"{len(transport.unmatched)} request(s) had no registered answer: " \
                                    f"{transport.unmatched[:3]}"
