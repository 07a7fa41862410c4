"""The sending layer under :class:`~swan_jupyter.transport.Transport`: what moves a prepared request and brings
its answer back, whatever the envelope and the error mapping on top.

A sender is a requests *transport adapter* (:class:`requests.adapters.BaseAdapter`: ``send(PreparedRequest,
stream, timeout, verify, cert, proxies) -> Response`` and ``close()``), the seam requests already has. The
transport mounts its sender on its pooled ``requests.Session`` for ``http://`` and ``https://``.

* :func:`http_sender` (the default): urllib3 connection pools with the retry policy of :func:`make_retry`.
* Any other adapter can stand in, e.g. the sandbox's in-process sender
  (:class:`swan_jupyter.sandbox.inprocess.AsgiSender`), which calls the emulators' ASGI apps without a socket.
  Such a sender owns its retry behaviour (the in-process one has none: nothing is lost between the caller and
  the app).

Retry policy (urllib3 ``Retry``): GET, HEAD, PUT, DELETE and OPTIONS are retried on connection errors, read
errors, 429 (honouring ``Retry-After``), 502, 503 and 504, with exponential backoff and jitter. A POST is only
retried when the connection could not be opened (nothing was sent).
"""

from __future__ import annotations

from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.util.retry import Retry

#: The sender protocol: a requests transport adapter.
Sender = BaseAdapter

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def make_retry(retries: int, backoff: float) -> Retry:
    """urllib3 retry policy: idempotent methods only, 429/502/503/504, exponential backoff with jitter."""
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=10.0,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def http_sender(*, retries: int = 3, backoff: float = 0.25, pool_size: int = 32) -> HTTPAdapter:
    """The network sender: keep-alive pools of ``pool_size`` connections per host, :func:`make_retry` retries."""
    return HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=make_retry(retries, backoff),
                       pool_block=False)


__all__ = ["IDEMPOTENT_METHODS", "RETRY_STATUSES", "Sender", "http_sender", "make_retry"]
