"""``voiceguide serve``: a published folder, read-only, for phones on the same network.

HTTP is werkzeug's (a well-kept WSGI library): its ``send_file`` answers Range
requests (206 with exactly the asked bytes, 416 for ranges it cannot give,
ETags and If-Range), which podcast players and browsers seek with, and its
threaded server takes many players at once. voiceguide's part is the policy:
only regular files inside the folder, never one whose real path (symbolic
links followed) leaves it, no listings, no hidden files, GET and HEAD only;
and the feed, served with this server's own address unless a base URL was given.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.security import safe_join
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from voiceguide.phone import feed

TYPES = {".mp3": "audio/mpeg", ".vtt": "text/vtt",  # werkzeug adds the charset of text/*
         ".json": "application/json", ".svg": "image/svg+xml",
         ".html": "text/html", ".xml": "application/rss+xml; charset=utf-8"}


class App:
    """The WSGI application serving *root*."""

    def __init__(self, root: Path, base_url: str | None) -> None:
        self.root = Path(os.path.realpath(root))
        self.base_url = base_url

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.respond(request)
        except HTTPException as error:
            response = error.get_response(environ)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
        name = request.path.lstrip("/") or feed.PAGE
        if name == feed.FEED:
            base = self.base_url or request.host_url
            entries = sorted(feed.load(self.root).values(), key=lambda e: e.name)
            return Response(feed.feed(entries, base), content_type=TYPES[".xml"])
        return send_file(self.file(name), request.environ, mimetype=self.type(name),
                         conditional=True, max_age=60)

    def file(self, name: str) -> str:
        """The real path of a servable file, or 404."""
        if "\0" in name or any(part.startswith(".") for part in name.split("/")):
            raise NotFound()  # no file has a NUL in its name; hidden files; any '..' left
        joined = safe_join(str(self.root), name)
        if joined is None:
            raise NotFound()
        real = os.path.realpath(joined)
        if not real.startswith(str(self.root) + os.sep) or not os.path.isfile(real):
            raise NotFound()  # outside the folder (a link out), a folder, or nothing
        return real

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
    """A threaded server for *root*, bound but not yet serving (OSError if the port is taken)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:  # bound here, so that a port in use is our one-line error, not werkzeug's exit
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
        return make_server(host, listener.getsockname()[1], App(root, base_url),
                           threaded=True, fd=listener.fileno())
    finally:
        listener.close()  # the server has its own copy of the socket


def port_of(httpd: BaseWSGIServer) -> int:
    return int(httpd.socket.getsockname()[1])


def public_url(host: str, port: int) -> str:
    shown = lan_address() if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}/"
