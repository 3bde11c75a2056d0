"""Supervisor badges over nfcpy: :class:`NfcpyReader` yields the UID of each badge tapped.

Between badge polls it can offer the SBP link as an emulated tag (:mod:`hw.nfc.link_cards`);
opening the frontend is :mod:`hw.nfc.frontend`, the UID rules :mod:`hw.nfc.badges`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from hw.base import ClosesAsync
from hw.errors import NfcError
from hw.nfc.frontend import DEFAULT_TARGETS, FrontendFactory, nfc_error, open_frontend
from hw.nfc.link_cards import LISTEN_WINDOW_S, LinkCard, TagType, link_card, serve_link_once
from hw.nfc.ndef_link import link_message
from terminal.config.model import NfcConfig

__all__ = [
    "NfcpyReader",
    "open_nfcpy_reader",
]

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.2  # a tap shows within 0.2 s plus one poll; the RF field rests meanwhile
#: Waits before each reopening of a lost reader: quick after a replug, then every 30 s.
RETRY_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_S = 60.0  # a reader that ran this long without failing starts its backoff afresh
OFFER_SESSION_MAX_S = 5.0  # a phone held longer is served again in the next listen window
JOIN_TIMEOUT_S = 5.0  # one poll on a real reader takes milliseconds; udp waits 1 s per type


class NfcpyReader(ClosesAsync):
    """Yields the UID of each badge tapped; implements :class:`hw.base.NfcReader`.

    ``path`` is an nfcpy device path: "usb", "usb:054c:06c3", "tty:AMA0:pn532", or
    "udp:127.0.0.1:<port>" (nfcpy's simulated reader, in tests). Badges are only sensed,
    never activated, so any card gives its UID (MIFARE Classic and DESFire included). A
    badge held on the reader is one tap; it taps again once it was seen gone.

    Threads: nfcpy's ``connect()`` blocks, so the first ``taps()`` starts a worker thread
    that owns the reader and hands each UID to the loop with ``loop.call_soon_threadsafe``.
    When the reader fails or is unplugged, the worker reports it in ``status()`` and the log
    and reopens it after :data:`RETRY_BACKOFF_S`; it never raises into the loop. Everything
    else is loop-only.

    ``offer_link()`` makes the same reader offer a payment link to phones (card emulation,
    see :mod:`hw.nfc.ndef_link`) in listen windows between badge polls.
    """

    def __init__(
        self,
        *,
        path: str = "usb",
        targets: Sequence[str] = DEFAULT_TARGETS,
        poll_interval_s: float = POLL_INTERVAL_S,
        retry_backoff_s: Sequence[float] = RETRY_BACKOFF_S,
        monotonic: Callable[[], float] = time.monotonic,
        frontend_factory: FrontendFactory | None = None,
    ) -> None:
        self._path = path
        self._targets = list(targets)
        self._poll_interval_s = poll_interval_s
        self._backoff_s = tuple(retry_backoff_s) or RETRY_BACKOFF_S
        self._monotonic = monotonic
        self._factory = frontend_factory
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._state = "idle"  # idle → open ⇄ retrying → closed
        self._problem: str | None = None
        self._failures = 0
        self._taps = 0
        self._last_tap_at: float | None = None
        self._present: str | None = None  # worker-only: the badge on the reader now
        self._seen_this_poll = False  # worker-only
        self._offer: tuple[LinkCard, threading.Event] | None = None
        self._emulating = False  # worker: inside a listen window as the link's tag
        self._link_reads = 0
        self._link_problem: str | None = None

    @property
    def is_closed(self) -> bool:
        """True once ``aclose()`` ran."""
        return self._closed

    def taps(self) -> AsyncIterator[str]:
        """Yield each badge's UID (lowercase hex) until ``aclose()``; one consumer at a time."""
        if self._thread is None and not self._closed:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name="nfc-reader", daemon=True)
            self._thread.start()
        return self._taps_from_queue()

    def status(self) -> dict[str, object]:
        """What the self-check shows; UIDs stay out of it (they are credentials)."""
        with self._lock:
            age = None if self._last_tap_at is None else self._monotonic() - self._last_tap_at
            return {
                "path": self._path,
                "state": self._state,
                "problem": self._problem,
                "failures": self._failures,
                "taps": self._taps,
                "badge_present": self._present is not None,
                "last_tap_age_s": age,
                "offering_link": self._offer is not None,
                "emulating": self._emulating,
                "link_reads": self._link_reads,
                "link_problem": self._link_problem,
            }

    def offer_link(self, url: str | None, *, tag_type: TagType = 4) -> None:
        """Offer ``url`` to phones by acting as a tag between badge polls; None withdraws it.

        Returns at once; the worker (running once ``taps()`` was called) switches within about
        a second. Needs a reader that can emulate a tag (RC-S380, PN532); with one that
        cannot, the offer is dropped and ``status()["link_problem"]`` says why. ValueError if
        ``url`` is not a link.
        """

        offer = None if url is None else (link_card(tag_type, link_message(url)), threading.Event())
        with self._lock:
            if self._offer is not None:
                self._offer[1].set()  # end the window serving the old link
            self._offer, self._link_problem = offer, None

    async def aclose(self) -> None:
        """Stop the worker, release the reader and end ``taps()``; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self.offer_link(None)
        self._queue.put_nowait(None)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning(
                    "nfc:worker on %s still polling after %.0f s", self._path, JOIN_TIMEOUT_S
                )
        self._set_state("closed", self._problem)

    def __repr__(self) -> str:
        return f"<NfcpyReader {self._path} {self._state}>"

    async def _taps_from_queue(self) -> AsyncIterator[str]:
        while True:
            uid = await self._queue.get()
            if uid is None:
                self._queue.put_nowait(None)  # so every other iterator ends too
                return
            yield uid

    # --- the worker thread ---

    def _run(self) -> None:
        while not self._stop.is_set():
            started = self._monotonic()
            failed = self._open_and_poll()
            if self._stop.is_set():
                return
            if self._monotonic() - started >= STABLE_S:
                with self._lock:
                    self._failures = 1 if failed else 0
            if failed:
                self._stop.wait(self._backoff())

    def _open_and_poll(self) -> bool:
        """Poll until stopped; True when the reader could not be opened or failed."""
        try:
            clf = open_frontend(self._path, frontend_factory=self._factory)
        except NfcError as err:
            self._report_failure(str(err))
            return True
        if self._failures:
            log.info("nfc:reader back on %s: %s", self._path, clf.device)
        self._set_state("open", None)
        try:
            return self._poll(clf)
        # nfcpy's transports raise more than OSError (usb1, serial); the worker must live on.
        except Exception as exc:  # noqa: BLE001
            self._report_failure(str(nfc_error(self._path, exc)), exc_info=True)
            return True
        finally:
            clf.close()

    def _poll(self, clf: Any) -> bool:
        """Read badges (offering the link between polls while one is offered) until stopped;
        True when the reader failed."""
        while not self._stop.is_set():
            offer = self._offer
            if offer is not None:
                self._offer_once(clf, *offer)
                continue
            result = clf.connect(rdwr=self._rdwr_options(), terminate=self._terminate)
            if result is False and not self._stop.is_set():  # nfcpy says False after an IOError
                self._report_failure(
                    f"{self._path}: the NFC reader stopped answering (unplugged? check its "
                    "cable and power); reopening it"
                )
                return True
        return False

    def _offer_once(self, clf: Any, card: LinkCard, withdrawn: threading.Event) -> None:
        """One listen window as the link's tag, then one poll for badges."""
        import nfc.clf

        until = time.monotonic() + OFFER_SESSION_MAX_S
        self._emulating = True
        try:
            reads = serve_link_once(clf, self._path, card, LISTEN_WINDOW_S, until, withdrawn)
        except NfcError as err:
            if isinstance(err.__cause__, OSError):
                raise  # the reader failed: reopen it
            log.warning("nfc:link_not_offered %s", err)  # this reader cannot emulate a tag
            with self._lock:
                self._offer, self._link_problem = None, str(err)
            return
        finally:
            self._emulating = False
        with self._lock:
            self._link_reads += reads
        targets = [nfc.clf.RemoteTarget(brty) for brty in self._targets]
        found = clf.sense(*targets, iterations=1)
        if found is not None:
            self._on_discover(found)
        self._terminate_poll()

    def _backoff(self) -> float:
        step = min(max(self._failures, 1), len(self._backoff_s))
        return self._backoff_s[step - 1]

    def _rdwr_options(self) -> dict[str, object]:
        return {
            "targets": self._targets,
            "on-discover": self._on_discover,
            "iterations": 1,
            "interval": self._poll_interval_s,
            "beep-on-connect": False,
        }

    def _terminate(self) -> bool:
        """nfcpy asks this between polls: note a badge gone, rest, and say whether to leave
        (closing, or a link to offer)."""
        self._terminate_poll()
        return self._stop.wait(self._poll_interval_s) or self._offer is not None

    def _terminate_poll(self) -> None:
        if not self._seen_this_poll:
            self._present = None
        self._seen_this_poll = False

    def _on_discover(self, target: Any) -> bool:
        """nfcpy found a card: hand its UID to the loop once per presence; never activate it."""
        uid = _uid_of(target)
        if uid is None:
            return False
        self._seen_this_poll = True
        if uid != self._present:
            self._present = uid
            self._deliver(uid)
        return False

    def _deliver(self, uid: str) -> None:
        with self._lock:
            self._taps += 1
            self._last_tap_at = self._monotonic()
            self._failures = 0
        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("no loop")
            loop.call_soon_threadsafe(self._queue.put_nowait, uid)
        except RuntimeError:  # the loop closed under a late tap
            log.warning("nfc:tap dropped: the event loop is closed")

    def _report_failure(self, problem: str, *, exc_info: bool = False) -> None:
        with self._lock:
            self._failures += 1
            first = self._failures == 1
        level = logging.WARNING if first else logging.DEBUG
        log.log(level, "nfc:reader_problem %s", problem, exc_info=exc_info and first)
        self._set_state("retrying", problem)

    def _set_state(self, state: str, problem: str | None) -> None:
        with self._lock:
            self._state = state
            self._problem = problem


def open_nfcpy_reader(cfg: NfcConfig, **injected: Any) -> NfcpyReader:
    """The badge reader from ``[nfc]``; nothing is opened until ``taps()`` is first called.

    Raises :class:`NfcError` when ``cfg.path`` is empty (no reader configured).
    """
    if not cfg.path:
        raise NfcError('no NFC reader configured: set [nfc] path, e.g. "usb" or "tty:AMA0:pn532"')
    return NfcpyReader(path=cfg.path, **injected)


def _uid_of(target: Any) -> str | None:
    """The identifier a sensed target answered with: NFCID1, PUPI or IDm."""
    if getattr(target, "sdd_res", None):
        raw = bytes(target.sdd_res)
    elif getattr(target, "rid_res", None):
        raw = bytes(target.rid_res[2:6])  # Type 1 (Topaz): UID0-3 after HR0 HR1
    elif getattr(target, "sensb_res", None):
        raw = bytes(target.sensb_res[1:5])
    elif getattr(target, "sensf_res", None):
        raw = bytes(target.sensf_res[1:9])
    else:
        return None
    return raw.hex() if 4 <= len(raw) <= 10 else None
