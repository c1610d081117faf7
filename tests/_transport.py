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

:class:`TushareService` is tushare Pro's ``/dataapi/<api>`` service over stored frames, for tests that run
tushare's own client (``ts.pro_api(token)``) against it.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

Answer = bytes | str | dict | list | Callable[["Seen"], Any]


@dataclass
class Reply:
    """An answer with its own HTTP status (a route's callable may return one): ``body`` as in :meth:`Transport.add`."""

    body: bytes | str | dict | list
    status: int = 200
    content_type: str | None = None


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
                if isinstance(out, Reply):
                    return _response(request, out.body, out.status, out.content_type or route.content_type)
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


# ============================================================================ tushare Pro's HTTP service
#: where tushare's client posts (``tushare/pro/client.py``: ``DataApi.__http_url``; ``query`` posts the JSON body
#: ``{"api_name", "token", "params", "fields"}`` to ``f"{__http_url}/{api_name}"`` and puts this URL into
#: ``params["ts_type_name"]`` itself)
TUSHARE_URL = "http://api.waditu.com/dataapi"
TUSHARE_HOST = "api.waditu.com"
#: the token the tests give ``ts.pro_api``; the service answers no other
TUSHARE_TOKEN = "test-token"
#: tushare's rate-limit refusal, as its service words it (the client matches its substrings)
TUSHARE_RATE_MSG = "抱歉，您每分钟最多访问该接口200次，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
#: tushare's refusal of an interface the account's points do not open
TUSHARE_PERMISSION_MSG = "抱歉，您没有访问该接口的权限，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"


def tushare_rows(df: pd.DataFrame, request_id: str = "test") -> dict:
    """tushare Pro's answer carrying ``df``: ``{"request_id", "code": 0, "msg": "", "data": {"fields", "items",
    "has_more"}}``, missing values as null. ``DataApi.query`` checks ``code`` and builds
    ``pd.DataFrame(data["items"], columns=data["fields"])``."""
    items = df.astype(object).where(df.notna(), None).to_numpy().tolist()
    return {"request_id": request_id, "code": 0, "msg": "",
            "data": {"fields": [str(c) for c in df.columns], "items": items, "has_more": False}}


def tushare_refusal(msg: str, code: int = 40203, request_id: str = "test") -> dict:
    """tushare Pro's refusal (rate limit, no permission): HTTP 200, ``code`` != 0, ``msg``, no data.
    ``DataApi.query`` raises ``Exception(msg)`` on it."""
    return {"request_id": request_id, "code": code, "msg": msg, "data": None}


@dataclass
class TushareService:
    """tushare Pro's ``POST /dataapi/<api>`` answered from stored frames, one route per api on ``http``.

    An api of ``frames`` answers like the service: rows whose code columns (``ts_code``, ``index_code``,
    ``exchange``, ``market``, ``is_new``) are in the call's value (a comma list), ``trade_date`` equal and
    ``start_date``/``end_date`` inclusive on the api's date column (:attr:`DATE_COL`, else ``trade_date``),
    trade_cal's ``is_open``; newest first; the ``fields`` asked for; at most ``limits[api]`` rows from
    ``offset`` (``limit`` may ask fewer; apis not in ``limits`` answer every row). Answers are
    :func:`tushare_rows`.

    A request this service does not understand (another token, an api without frame, a parameter or field it
    does not know, a body whose ``api_name`` is not the path's) is left to the transport, which records it
    and fails the test. :meth:`refuse` queues answers given before the rows.
    """

    http: Transport
    frames: dict[str, pd.DataFrame]
    limits: dict[str, int] = field(default_factory=dict)
    token: str = TUSHARE_TOKEN
    queued: dict[str, list] = field(default_factory=dict)

    #: the date column ``trade_date`` / ``start_date`` / ``end_date`` filter on, where it is not ``trade_date``
    DATE_COL = {"fund_nav": "nav_date", "trade_cal": "cal_date"}
    CODE_PARAMS = ("ts_code", "index_code", "exchange", "market", "is_new")
    PARAMS = frozenset(CODE_PARAMS + ("trade_date", "start_date", "end_date", "is_open", "limit", "offset",
                                      "ts_type_name"))

    def __post_init__(self) -> None:
        self._routed: set[str] = set()
        for api in self.frames:
            self._route(api)

    def _route(self, api: str) -> None:
        if api not in self._routed:
            self._routed.add(api)
            self.http.add(TUSHARE_HOST, f"/dataapi/{api}", self._answer, method="POST",
                          when=self._understood, content_type="application/json;charset=UTF-8",
                          name=f"tushare {api}")

    def refuse(self, api: str, *answers) -> None:
        """Answer the next calls of ``api`` with ``answers`` in turn, before any rows: a dict (a
        :func:`tushare_refusal`), an int (that HTTP status with an error page) or an exception instance
        (raised as the adapter raises a dropped connection)."""
        self.queued.setdefault(api, []).extend(answers)
        self._route(api)

    def bodies(self, api: str | None = None) -> list[dict]:
        """The decoded JSON bodies tushare's client posted (to ``api`` only, if given), in order."""
        return [s.body for s in self.http.log if s.host == TUSHARE_HOST and isinstance(s.body, dict)
                and (api is None or s.body.get("api_name") == api)]

    def params(self, api: str) -> list[dict]:
        """The ``params`` of each call of ``api``, without the ``ts_type_name`` tushare's client adds to every call."""
        return [{k: v for k, v in b["params"].items() if k != "ts_type_name"} for b in self.bodies(api)]

    def _understood(self, seen: Seen) -> bool:
        body = seen.body
        if not isinstance(body, dict) or set(body) != {"api_name", "token", "params", "fields"}:
            return False
        api = body["api_name"]
        if seen.path != f"/dataapi/{api}" or body["token"] != self.token or not set(body["params"]) <= self.PARAMS:
            return False
        if self.queued.get(api):
            return True
        if api not in self.frames:
            return False
        fields = [f for f in (body["fields"] or "").split(",") if f]
        return all(f in self.frames[api].columns for f in fields)

    def _answer(self, seen: Seen):
        api, params = seen.body["api_name"], seen.body["params"]
        if self.queued.get(api):
            out = self.queued[api].pop(0)
            if isinstance(out, BaseException):
                raise out
            if isinstance(out, int):
                return Reply(f"<html><body><h1>{out}</h1></body></html>", status=out,
                             content_type="text/html;charset=UTF-8")
            return out
        df = self.frames[api]
        dcol = self.DATE_COL.get(api, "trade_date")
        for key in self.CODE_PARAMS:
            if key in params and key in df:
                df = df[df[key].astype(str).isin(str(params[key]).split(","))]
        if "trade_date" in params:
            df = df[df[dcol] == params["trade_date"]]
        if "start_date" in params:
            df = df[df[dcol] >= params["start_date"]]
        if "end_date" in params:
            df = df[df[dcol] <= params["end_date"]]
        if "is_open" in params:
            df = df[df["is_open"].astype(str) == str(params["is_open"])]
        if dcol in df:
            df = df.sort_values(dcol, ascending=False, kind="stable")  # tushare: newest first
        fields = [f for f in (seen.body["fields"] or "").split(",") if f]
        if fields:
            df = df[fields]
        cap = self.limits.get(api, len(df))
        limit = min(int(params.get("limit", cap)), cap)
        offset = int(params.get("offset", 0))
        return tushare_rows(df.iloc[offset:offset + limit], request_id=f"test-{len(self.http.log)}")
