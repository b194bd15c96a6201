"""``voiceguide serve``: a published folder, read-only, for phones on the same network.

HTTP is werkzeug's (a well-kept WSGI library): its ``send_file`` answers Range
requests (206 with exactly the asked bytes, 416 for ranges it cannot give,
ETags and If-Range), which podcast players and browsers seek with, and its
threaded server takes many players at once. voiceguide's part is the policy:
only regular files inside the folder, never one whose real path (symbolic
links followed) leaves it, no listings, no hidden files, GET and HEAD only;
and the feed and the page, made with this server's own address (or the base URL
given to serve), never with the address a request names in its Host header.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import mimetypes
import os
import socket
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.security import safe_join
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from voiceguide.phone import feed, page

TYPES = {".mp3": "audio/mpeg", ".vtt": "text/vtt",  # werkzeug adds the charset of text/*
         ".json": "application/json", ".svg": "image/svg+xml", ".m3u8": "audio/mpegurl",
         ".html": "text/html", ".xml": "application/rss+xml; charset=utf-8",
         ".js": "text/javascript", ".css": "text/css", ".png": "image/png",
         ".jpg": "image/jpeg", ".webmanifest": "application/manifest+json",
         ".ics": "text/calendar", ".fit": "application/vnd.ant.fit"}
# Sent gzipped to a client that accepts it (the page, its script and style, the feed, the
# transcripts, the timeline): text shrinks to a fraction; audio and images are compressed.
COMPRESSED = (".html", ".js", ".css", ".json", ".svg", ".vtt", ".xml", ".webmanifest", ".ics",
              ".m3u8")
MAX_COMPRESSED = 8 << 20  # a larger text file goes as it is, streamed


class App:
    """The WSGI application serving *root*; *base* is the address phones use, which the
    feed and the page it serves carry (never the address a request claims in Host)."""

    def __init__(self, root: Path, base: str) -> None:
        self.root = Path(os.path.realpath(root))
        self.base = base

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.respond(request)
        except HTTPException as error:
            response = error.get_response(environ)
        del response.headers["Date"]  # the server writes the one Date header
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
        name = request.path.lstrip("/") or feed.PAGE
        if name in (feed.FEED, feed.PAGE, feed.CALENDAR):
            return self.made(request, name)
        path = self.file(name)
        if Path(name).suffix.lower() in COMPRESSED:
            with open(path, "rb") as handle:
                facts = os.fstat(handle.fileno())  # the size and time of what is read
                if facts.st_size <= MAX_COMPRESSED:
                    return self.text(request, handle.read(MAX_COMPRESSED + 1), self.type(name),
                                     facts.st_mtime)
        return send_file(path, request.environ, mimetype=self.type(name),
                         conditional=True, max_age=60)

    @staticmethod
    def text(request: Request, body: bytes, kind: str, changed: float | None) -> Response:
        """A text response, gzipped when the client accepts it (the ETag tells the two
        apart, and ``Vary`` tells caches), with an ETag and Last-Modified to revalidate."""
        zipped = "gzip" in request.accept_encodings and not request.range
        data = gzip.compress(body, compresslevel=6, mtime=0) if zipped else body
        response = (Response(data, content_type=kind) if "charset" in kind
                    else Response(data, mimetype=kind))  # werkzeug adds text/*'s charset
        response.set_etag(hashlib.sha256(body).hexdigest() + ("-gzip" if zipped else ""))
        if zipped:
            response.content_encoding = "gzip"
        response.vary.add("Accept-Encoding")
        if changed is not None:
            response.last_modified = datetime.fromtimestamp(int(changed), UTC)
        response.cache_control.max_age = 60
        response.cache_control.public = True
        return response.make_conditional(request, accept_ranges=not zipped,
                                         complete_length=None if zipped else len(body))

    def made(self, request: Request, name: str) -> Response:
        """The feed or the page, made from the index with this server's address, with an
        ETag and Last-Modified as for files, so players and browsers revalidate."""
        channel, entries = feed.load_all(self.root)
        channel = replace(channel, base_url=self.base)
        ordered = feed.ordered(entries)
        if name == feed.CALENDAR:
            if not any(e.date for e in ordered):
                raise NotFound()
            from voiceguide.phone.calendar import calendar

            body = calendar(ordered, channel)
        else:
            body = (feed.feed(ordered, channel) if name == feed.FEED
                    else page.page(ordered, channel, feed.url(self.base, feed.FEED))).encode()
        changed = None
        with contextlib.suppress(OSError):
            changed = (self.root / feed.INDEX).stat().st_mtime
        return self.text(request, body, "text/html; charset=utf-8" if name == feed.PAGE
                         else TYPES[Path(name).suffix], changed)

    def file(self, name: str) -> str:
        """The real path of a servable file, or 404."""
        if "\0" in name or any(part.startswith(".") for part in name.split("/")):
            raise NotFound()  # no file has a NUL in its name; hidden files; any '..' left
        joined = safe_join(str(self.root), name)
        if joined is None:
            raise NotFound()
        real = os.path.realpath(joined)
        if not os.path.lexists(joined):
            return self.enclosure(name)
        if not real.startswith(str(self.root) + os.sep) or not os.path.isfile(real):
            raise NotFound()  # outside the folder (a link out), a folder, or nothing
        return real

    def enclosure(self, name: str) -> str:
        """A session's MP3 by the name the feed gives it, in a folder published before
        those names were made beside it (``NAME.mp3`` itself, while it holds those bytes)."""
        _, entries = feed.load_all(self.root)
        for e in entries.values():
            if feed.enclosure(e) == name:
                mp3 = self.root / feed.files(e.name)["mp3"]
                if mp3.is_file() and not mp3.is_symlink() and mp3.stat().st_size == e.size:
                    return str(mp3)
        raise NotFound()

    @staticmethod
    def type(name: str) -> str:
        suffix = Path(name).suffix.lower()
        return TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def lan_address() -> str:
    """This machine's address on the local network, as phones would reach it."""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None,
                                                                     socket.AF_INET)}
    except OSError:
        addresses = set()
    usable = sorted(a for a in addresses if not a.startswith("127."))
    return usable[0] if usable else "127.0.0.1"


def server(root: Path, host: str, port: int, base_url: str | None) -> BaseWSGIServer:
    """A threaded server for *root*, bound but not yet serving (OSError if the port is taken);
    its feed and page carry *base_url*, or this machine's own address."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:  # bound here, so that a port in use is our one-line error, not werkzeug's exit
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        bound = listener.getsockname()[1]
        app = App(root, base_url or public_url(host, bound))
        return make_server(host, bound, app, threaded=True, fd=listener.fileno())
    finally:
        listener.close()  # the server has its own copy of the socket


def advertised(httpd: BaseWSGIServer) -> str:
    """The address the server's feed and page carry, ending in '/'."""
    app = httpd.app
    assert isinstance(app, App)
    return app.base


def port_of(httpd: BaseWSGIServer) -> int:
    return int(httpd.socket.getsockname()[1])


def public_url(host: str, port: int) -> str:
    shown = lan_address() if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"
