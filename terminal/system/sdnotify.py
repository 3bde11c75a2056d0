"""Telling systemd how the service is doing: the sd_notify protocol over $NOTIFY_SOCKET.

systemd hands a ``Type=notify`` service the address of a datagram socket in
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). Each datagram is
newline-separated ``KEY=value`` lines: ``READY=1`` once started, ``STATUS=`` for
``systemctl status``, ``WATCHDOG=1`` to keep the watchdog from restarting the service,
``STOPPING=1`` when shutting down. Without the variable every method does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["Notifier", "watchdog_interval_s"]

log = logging.getLogger("payterm.sdnotify")


def watchdog_interval_s(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """The watchdog timeout systemd set for this process, in seconds, or None if none.

    ``$WATCHDOG_USEC`` is the timeout; ``$WATCHDOG_PID``, when set, names the process it is
    meant for (another PID, e.g. a child that inherited the environment, gets None).
    """
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 1_000_000


def _address(value: str) -> str | None:
    if value.startswith("@"):
        return "\0" + value[1:]  # the abstract namespace
    if value.startswith("/"):
        return value
    return None  # vsock: and other forms are not used on a terminal


class Notifier:
    """Sends sd_notify messages to systemd; a cheap no-op when not run by systemd.

    Never raises: a failed send is logged once (at WARNING) and the caller goes on.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._address = _address(raw) if raw else None
        if raw and self._address is None:
            log.warning("NOTIFY_SOCKET=%r is not a path or @name: not notifying systemd", raw)
        self._socket: socket.socket | None = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        """True when systemd gave a socket to notify."""
        return self._address is not None

    def ready(self, status: str | None = None) -> bool:
        """Tell systemd the service has started (``READY=1``), with a status line if given."""
        return self.send("READY=1", *([f"STATUS={status}"] if status is not None else []))

    def status(self, text: str) -> bool:
        """Set the line ``systemctl status`` shows (``STATUS=``); one line, newlines dropped."""
        return self.send(f"STATUS={' '.join(text.splitlines())}")

    def watchdog(self) -> bool:
        """Keep the watchdog from restarting the service (``WATCHDOG=1``)."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        """Tell systemd the service is shutting down (``STOPPING=1``)."""
        return self.send("STOPPING=1", *([f"STATUS={status}"] if status is not None else []))

    def send(self, *fields: str) -> bool:
        """Send ``fields`` (``KEY=value`` strings) in one datagram; True if it was sent."""
        if self._address is None or not fields:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
                self._socket.setblocking(False)  # the loop never waits on systemd
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.warning("cannot notify systemd at %s: %s", self._shown(), exc)
            return False
        return True

    def close(self) -> None:
        """Close the socket; idempotent (a later send opens it again)."""
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()

    def _shown(self) -> str:
        address = self._address or ""
        return "@" + address[1:] if address.startswith("\0") else address

    def __repr__(self) -> str:
        return f"<Notifier {self._shown() or 'disabled'}>"
