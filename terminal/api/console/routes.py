"""The web console's routes under ``/console/``: the page, its stream, frames, slips, actions.

The page and its script and style are files shipped in this package (``static/``), served
as they are: no build step, nothing fetched from elsewhere. Everything but the page itself
and the sign-in needs the console's access (:mod:`terminal.api.console.access`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from hw.printer.slip_picture import draw_slip
from terminal.api.bodies import read_body
from terminal.api.console.access import COOKIE, SESSION_S, ConsoleAccess
from terminal.api.console.actions import DEMO_CODES, Action, SignIn, act
from terminal.api.console.feed import ConsoleFeed, encode_png
from terminal.api.problems import ApiProblem, json_response, problem_response
from terminal.api.resources import shift_resource
from terminal.api.status import terminal_resource

__all__ = ["Console", "console_routes"]

log = logging.getLogger("payterm.api")

_STATIC = {"index.html": "text/html; charset=utf-8", "console.js": "text/javascript",
           "console.css": "text/css"}  # fmt: skip
_NUMBER = re.compile(r"[0-9]{1,12}")
_NO_STORE = {"Cache-Control": "no-store"}
# The page may load only its own files, and talk only to the terminal it came from.
_CSP = ("default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'")  # fmt: skip

Handler = Callable[[Request], Awaitable[Response]]


class Console:
    """What the console's routes read and act on: the terminal, its feed, its access."""

    def __init__(self, terminal: Any, api: Any, feed: ConsoleFeed, access: ConsoleAccess) -> None:
        self.terminal = terminal
        self.api = api  # terminal.api.routes.Api
        self.feed = feed
        self.access = access
        self.emulated = terminal.config.terminal.hardware != "pi"
        self._files: dict[str, bytes] = {}
        self._slip_pngs: dict[int, bytes] = {}

    def file(self, name: str) -> bytes:
        """A static file of the page (read once)."""
        if name not in self._files:
            self._files[name] = resources.files(__package__).joinpath("static", name).read_bytes()
        return self._files[name]

    def state(self) -> dict[str, Any]:
        """Everything the page shows beside the display: status, payments, report, slips."""
        terminal, api = self.terminal, self.api
        links = getattr(terminal, "links", [])
        return {
            "live": self.access.live,
            "emulated": self.emulated,
            "demo": bool(getattr(terminal, "sandboxes", None)),
            "codes": sorted(DEMO_CODES) if self.emulated else [],
            "network": "down" if any(not link.is_up for link in links) else "up",
            "language": terminal.config.terminal.language,
            "display": {
                "width": terminal.config.display.width,
                "height": terminal.config.display.height,
            },  # fmt: skip
            "terminal": terminal_resource(api.runtime, api.journal, api.hub, _version()),
            "payments": api.payments.recent(8),
            "x_report": shift_resource(api.journal.shift_summary()),
            "slips": [{"number": s.number, "title": s.title} for s in reversed(self.feed.slips)],
        }

    def slip_png(self, number: int) -> bytes:
        """The slip drawn as docs/pictures draws slips, from its printed bytes."""
        if number not in self._slip_pngs:
            slip = self._slip(number)
            self._slip_pngs = {n: p for n, p in self._slip_pngs.items()
                               if any(s.number == n for s in self.feed.slips)}  # fmt: skip
            self._slip_pngs[number] = encode_png(draw_slip(slip.parsed, slip.raw))
        return self._slip_pngs[number]

    def slip_raw(self, number: int) -> bytes:
        """The slip's ESC/POS bytes as the printer got them."""
        raw: bytes = self._slip(number).raw
        return raw

    def _slip(self, number: int) -> Any:
        for slip in self.feed.slips:
            if slip.number == number:
                return slip
        raise ApiProblem(404, "not_found", f"no slip {number} is kept (the last few are)")


def _version() -> str:
    from terminal import __version__

    return __version__


def console_routes(console: Console) -> list[BaseRoute]:
    """The routes to mount on the API's app."""
    access = console.access

    def guarded(handler: Handler, *, check: Callable[[Request], None] | None) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                if check is not None:
                    check(request)
                return await handler(request)
            except ApiProblem as problem:
                return problem_response(problem)
            except Exception:
                log.exception("console %s %s failed", request.method, request.url.path)
                return problem_response(
                    ApiProblem(500, "internal_error", "the terminal could not answer; retry")
                )

        return endpoint

    async def root(request: Request) -> Response:
        return RedirectResponse("/console/", status_code=308)

    async def static(request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in _STATIC:
            raise ApiProblem(404, "not_found", "no such file")
        headers = {
            "Cache-Control": "no-cache",
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return Response(console.file(name), media_type=_STATIC[name], headers=headers)

    async def sign_in(request: Request) -> Response:
        body = await read_body(request, SignIn)
        token = access.sign_in(body.password, body.api_key)
        response = json_response({"signed_in": True, "live": access.live})
        response.set_cookie(COOKIE, token, max_age=int(SESSION_S), path="/console/",
                            secure=access.secure, httponly=True, samesite="strict")  # fmt: skip
        return response

    async def sign_out(request: Request) -> Response:
        access.sign_out(request)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/console/")
        return response

    async def state(request: Request) -> Response:
        return json_response(console.state(), headers=_NO_STORE)

    async def stream(request: Request) -> Response:
        last = request.headers.get("last-event-id", "")
        start = int(last) if _NUMBER.fullmatch(last) else 0
        headers = {**_NO_STORE, "X-Accel-Buffering": "no"}
        return StreamingResponse(console.feed.stream(start), media_type="text/event-stream",
                                 headers=headers)  # fmt: skip

    async def frame(request: Request) -> Response:
        current = console.feed.frame
        wanted = _number(request)
        if current is None or current.number < wanted:
            raise ApiProblem(404, "not_found", "no such frame yet")
        # An older number gets the newest frame: the page is only ever behind.
        return Response(current.png, media_type="image/png", headers=_NO_STORE)

    async def slip_png(request: Request) -> Response:
        png = console.slip_png(_number(request))
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    async def slip_raw(request: Request) -> Response:
        number = _number(request)
        disposition = f'attachment; filename="slip-{number}.escpos"'
        return Response(console.slip_raw(number), media_type="application/octet-stream",
                        headers={"Content-Disposition": disposition})  # fmt: skip

    async def do(request: Request) -> Response:
        action = await read_body(request, Action)
        return json_response(await act(console.terminal, action, emulated=console.emulated))

    look = access.check
    return [
        Route("/console", guarded(root, check=None), methods=["GET"]),
        Route("/console/", guarded(static, check=None), methods=["GET"]),
        Route("/console/static/{name}", guarded(static, check=None), methods=["GET"]),
        Route("/console/session", guarded(sign_in, check=None), methods=["POST"]),
        Route("/console/session", guarded(sign_out, check=None), methods=["DELETE"]),
        Route("/console/state", guarded(state, check=look), methods=["GET"]),
        Route("/console/stream", guarded(stream, check=look), methods=["GET"]),
        Route("/console/frame/{n}.png", guarded(frame, check=look), methods=["GET"]),
        Route("/console/slips/{n}.png", guarded(slip_png, check=look), methods=["GET"]),
        Route("/console/slips/{n}.escpos", guarded(slip_raw, check=look), methods=["GET"]),
        Route("/console/act", guarded(do, check=access.check_live), methods=["POST"]),
    ]


def _number(request: Request) -> int:
    text = str(request.path_params["n"])
    if not _NUMBER.fullmatch(text):
        raise ApiProblem(404, "not_found", "no such number")
    return int(text)
