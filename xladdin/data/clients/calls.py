"""One vendor call at a time: a timeout on every request, bounded retries with back-off, refusals naming the call.

AKShare calls ``requests.get`` without a timeout in most functions (``timeout=None`` is passed down
explicitly, so ``socket.setdefaulttimeout`` has no effect) and a hung host would block forever. Every
request of ``requests`` ends in :meth:`requests.adapters.HTTPAdapter.send`; while a :class:`Caller`
runs a function, that method is wrapped (:func:`bounded_requests`) so that a missing timeout becomes
the caller's and a longer one is cut to it. The same wrapper keeps the last response of the call, which
lets a caller tell "the host answered no rows" (a holiday, a day not yet disclosed) from a parse error
when the vendor's parser raises on an empty answer (AKShare: ``KeyError`` or a column-count
``ValueError``).

Transient failures (timeouts, refused or reset connections, HTTP 429 and 5xx) are retried
``max_retries`` times after ``backoff``, ``2 x backoff``, ... seconds; anything else, and the last
transient failure, becomes a :class:`~xladdin.data.clients.base.SourceError` naming the source, the
function and its arguments.
"""
from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from .base import SourceError

#: seconds a request may wait for a connection or for the next bytes of an answer (``--timeout``)
DEFAULT_TIMEOUT = 30.0
#: retries of one call after a transient failure, and the first wait (doubling each time)
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 2.0

_lock = threading.RLock()
_state = threading.local()
_depth = 0
_wrapped: Callable | None = None


def _cap(given, limit: float):
    """``given`` (None, a number or a (connect, read) pair) with every part at most ``limit``."""
    if given is None:
        return limit
    if isinstance(given, tuple):
        return tuple(limit if g is None or g > limit else g for g in given)
    return limit if given > limit else given


@contextmanager
def bounded_requests(timeout: float | None):
    """While inside: every ``requests`` request of this thread gets at most ``timeout`` seconds per wait
    (None: the enclosing block's cap, if any), and its response is kept as ``last_response()``. Nests;
    restores ``HTTPAdapter.send`` at the end."""
    global _depth, _wrapped
    from requests.adapters import HTTPAdapter  # optional dependency (the akshare extra)

    with _lock:
        if _depth == 0:
            inner = HTTPAdapter.send

            def send(self, request, **kwargs):
                limit = getattr(_state, "timeout", None)
                if limit is not None:
                    kwargs["timeout"] = _cap(kwargs.get("timeout"), limit)
                response = inner(self, request, **kwargs)
                _state.last = response
                _state.requests = getattr(_state, "requests", 0) + 1
                return response

            send.__wrapped__ = inner
            _wrapped = inner
            HTTPAdapter.send = send
        _depth += 1
    before = getattr(_state, "timeout", None)
    _state.timeout, _state.last = (before if timeout is None else timeout), None
    try:
        yield
    finally:
        _state.timeout = before
        with _lock:
            _depth -= 1
            if _depth == 0:
                HTTPAdapter.send = _wrapped
                _wrapped = None


def last_response():
    """The last response received inside :func:`bounded_requests` on this thread (None if none)."""
    return getattr(_state, "last", None)


def requests_sent() -> int:
    """Requests sent through :func:`bounded_requests` on this thread so far."""
    return getattr(_state, "requests", 0)


def _transient(exc: BaseException | None) -> bool:
    """A timeout, a failed connection, HTTP 429 or 5xx, or an error a vendor raised from one (akshare's
    ``APIError`` wraps the requests exception it caught)."""
    import requests  # optional dependency (the akshare extra)

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
            return True
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            return exc.response.status_code == 429 or exc.response.status_code >= 500
        exc = exc.__cause__ or exc.__context__
    return False


def show_call(name: str, args: tuple = (), kwargs: dict | None = None) -> str:
    """``fund_etf_hist_em(symbol='510300', adjust='hfq')``: how messages name a call."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


class Caller:
    """Runs vendor functions under a timeout, with bounded retries; see the module docstring.

    Parameters
    ----------
    source : the source's name for messages (``akshare``).
    timeout : seconds per connection or read wait of every request (``--timeout``).
    max_retries, backoff : retries after a transient failure and the first wait in seconds (doubling).
    sleep : called with the seconds to wait (``time.sleep``; tests record instead).
    """

    def __init__(self, source: str, *, timeout: float = DEFAULT_TIMEOUT, max_retries: int = DEFAULT_RETRIES,
                 backoff: float = DEFAULT_BACKOFF, sleep: Callable[[float], None] = time.sleep):
        if not timeout or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.source = source
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.sleep = sleep
        self.calls: list[str] = []          # every call made, as shown in messages
        self.functions: set[str] = set()    # the vendor functions used (the store's manifest lists them)
        self.on_call: Callable[[str], None] | None = None   # told of each call (a progress bar)

    def __call__(self, name: str, fn: Callable, *args, empty_when: Callable[[Any], bool] | None = None,
                 **kwargs) -> Any:
        """``fn(*args, **kwargs)``; None when it raised and ``empty_when(last response)`` says the host had
        no rows (no disclosure). Raises :class:`SourceError` naming the call otherwise."""
        shown = show_call(name, args, kwargs)
        self.calls.append(shown)
        self.functions.add(name)
        if self.on_call is not None:
            self.on_call(shown)
        for attempt in range(self.max_retries + 1):
            try:
                with bounded_requests(self.timeout), warnings.catch_warnings():
                    # the vendor's own use of deprecated pandas calls is not the user's to fix
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", FutureWarning)
                    try:
                        return fn(*args, **kwargs)
                    except Exception as exc:
                        if not _transient(exc) and empty_when is not None and _is_empty(empty_when, last_response()):
                            return None
                        raise
            except Exception as exc:  # vendors raise anything: KeyError, ValueError, AttributeError ...
                if _transient(exc):
                    if attempt < self.max_retries:
                        self.sleep(self.backoff * 2 ** attempt)
                        continue
                    raise SourceError(f"{self.source} {shown}: no answer after {self.max_retries + 1} tries "
                                      f"({type(exc).__name__}: {exc}); the host is down, slow or refusing: try "
                                      f"later, or allow more time with --timeout (now {self.timeout:g} s)") from exc
                raise SourceError(f"{self.source} {shown} failed: {type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _is_empty(empty_when: Callable[[Any], bool], response) -> bool:
    if response is None:
        return False
    try:
        return bool(empty_when(response))
    except Exception:  # an answer the predicate cannot read is not "empty"
        return False
