"""A cache of the public catalogue's answers: ``GET /api/v1/products`` (a page) and ``/api/v1/products/<id>``.

A catalogue read costs 3–4 ms of CPU (query-argument parsing, SQLAlchemy loading up to 20 rows with their
banks, marshmallow dumping them); a hit costs one primary-key read of ``catalogue_version`` (on a connection
each thread keeps: :class:`TokenReader`) and a dictionary lookup. The hook that serves hits runs before every
other ``before_request`` hook, so a hit skips argument parsing, the ORM session and the rate limiter's
bookkeeping (anonymous reads are not rate-limited anyway; a bearer token's reads never reach the cache and are
counted as before). The security headers are still added to every answer, hits and 304s included.

Key: the catalogue token (products.catalogue_version: it changes in the same transaction as every write the
catalogue shows, on any worker or machine) and the path with its query arguments in a normal order. Correct
without a staleness bound: a request reads the committed token before the view reads the products, so a body
stored under a token is never older than that token's state, and once a write has committed every request
reads its new token. Not in the key, because they do not change these bodies: the locale (the API answers
codes and figures, never translated text) and cookies (the API reads only bearer tokens). A request with an
``Authorization`` header is neither served from nor stored in the cache: a bank's token shows it its own
drafts; its answer says ``Cache-Control: private, no-cache``.

HTTP: each 200 answer carries a strong ``ETag`` (a digest of the body), ``Cache-Control: public, no-cache``
(a browser or proxy may keep it but must revalidate: a write shows at once) and ``Vary: Authorization``; a
request whose ``If-None-Match`` names the current body gets 304 without it.

Memory: each worker process keeps its own least-recently-used entries up to ``CATALOGUE_CACHE_BYTES`` of
bodies (default 8 MiB; 0 turns the cache off, the ETags stay). Entries of an older token are dropped when a
request first reads a newer one."""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from products.catalogue_version import current_token

CACHED_ENDPOINTS = frozenset({"products.Products", "products.ProductById"})
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
PUBLIC = "public, no-cache"
PRIVATE = "private, no-cache"


@dataclass(frozen=True)
class Entry:
    body: bytes
    content_type: str
    etag: str


class AnswerCache:
    """Answers of one catalogue token, least recently used first, at most ``max_bytes`` of bodies; safe to
    share between a worker's threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._token: str | None = None
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, token: str, key: str) -> Entry | None:
        with self._lock:
            if token != self._token:  # the catalogue changed: every entry is obsolete
                self._entries.clear()
                self._bytes, self._token = 0, token
                return None
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, token: str, key: str, entry: Entry) -> None:
        """Stores only under the token the last lookup read (a request that read an older one is late)."""
        size = len(entry.body)
        with self._lock:
            if token != self._token or size > self.max_bytes:
                return
            old = self._entries.pop(key, None)
            self._bytes += size - (len(old.body) if old else 0)
            self._entries[key] = entry
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    def __len__(self) -> int:
        return len(self._entries)


class TokenReader:
    """Reads the catalogue token on a connection that each thread keeps, in autocommit mode.

    Why not a connection from the pool per request: on PostgreSQL a checkout costs a ping (``pool_pre_ping``)
    and the return a ROLLBACK, three round trips where the read alone is one. A kept connection that broke
    (the database restarted) is dropped and the read tried once more on a new one, checked out with its ping;
    a second failure goes to the usual error handler (503 when the database is unreachable)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()

    def _connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.connection = connection
        return connection

    def read(self) -> str | None:
        try:
            return current_token(self._connection())
        except DBAPIError as error:
            kept: Connection | None = getattr(self._local, "connection", None)
            self._local.connection = None
            if kept is not None:
                kept.close()
            if not error.connection_invalidated:  # also when no connection could be had at all
                raise
        return current_token(self._connection())


def init_catalogue_cache(app: Flask) -> None:
    """Call after init_database and before anything else registers a ``before_request`` hook: a hit must skip
    them all."""
    app.extensions["catalogue_cache"] = AnswerCache(int(app.config.get("CATALOGUE_CACHE_BYTES", DEFAULT_MAX_BYTES)))
    app.extensions["catalogue_token_reader"] = TokenReader(app.extensions["engine"])
    app.before_request(_serve_cached)
    app.after_request(_label_and_store)


def _cacheable() -> bool:
    return request.endpoint in CACHED_ENDPOINTS and request.method in ("GET", "HEAD")


def _key() -> str:
    return f"{request.path}?{urlencode(sorted(request.args.items(multi=True)))}"


def etag_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _serve_cached() -> Response | None:
    if not _cacheable() or "Authorization" in request.headers:
        return None
    cache: AnswerCache = current_app.extensions["catalogue_cache"]
    if cache.max_bytes <= 0:
        return None
    token = current_app.extensions["catalogue_token_reader"].read()
    if token is None:  # the row is missing (emptied tables): nothing can be known fresh, serve uncached
        return None
    key = _key()
    entry = cache.get(token, key)
    if entry is None:
        g.catalogue_cache_slot = (token, key)
        return None
    g.catalogue_cache_hit = True
    return _conditional(Response(entry.body, content_type=entry.content_type), entry.etag)


def _label_and_store(response: Response) -> Response:
    if not _cacheable() or g.get("catalogue_cache_hit"):
        return response
    response.vary.add("Authorization")
    if "Authorization" in request.headers:
        response.headers["Cache-Control"] = PRIVATE
        return response
    if response.status_code != 200 or response.is_streamed:
        return response
    body = response.get_data()
    etag = etag_of(body)
    slot = g.get("catalogue_cache_slot")
    if slot is not None:
        token, key = slot
        current_app.extensions["catalogue_cache"].put(token, key, Entry(body, response.content_type or "", etag))
    return _conditional(response, etag)


def _conditional(response: Response, etag: str) -> Response:
    """Label a public 200 answer, or turn it into a 304 when the client already holds this body."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = PUBLIC
    response.vary.add("Authorization")
    if request.if_none_match.contains_weak(etag):
        response.status_code = 304  # werkzeug sends a 304 without its body
    return response
