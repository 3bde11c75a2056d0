"""Loading python-escpos: its capabilities pickle in payterm's cache, no stray temporary folders.

:func:`load_escpos` imports python-escpos once, fast (:func:`default_cache_dir` keeps the
parsed printer profiles); every module that uses python-escpos calls it first.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["PICKLE_DIR_ENV", "default_cache_dir", "load_escpos"]

log = logging.getLogger(__name__)

PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def default_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/payterm/escpos`` (``~/.cache/...``), or None without a home."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "payterm" / "escpos"


def load_escpos(cache_dir: Path | None = None) -> float:
    """Import python-escpos once; returns the milliseconds it took (0.0 when already loaded).

    python-escpos parses its printer-capabilities database at import (≈170 ms on a Pi-class
    CPU) unless it finds a pickle of it in ``ESCPOS_CAPABILITIES_PICKLE_DIR``: that is set to
    ``cache_dir`` (default :func:`default_cache_dir`) for the import, unless already set.
    The temporary folder python-escpos makes at every import is removed again.
    """
    if "escpos.capabilities" in sys.modules:
        return 0.0
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    started = time.perf_counter()
    with _pickle_dir(folder), _removing_stray_tempdirs():
        import escpos.printer  # noqa: F401
    return (time.perf_counter() - started) * 1000


@contextmanager
def _pickle_dir(folder: Path | None) -> Iterator[None]:
    if PICKLE_DIR_ENV in os.environ or folder is None:
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("printer:cache %s unusable (%s); python-escpos starts slower", folder, exc)
    if not os.access(folder, os.W_OK):
        yield
        return
    os.environ[PICKLE_DIR_ENV] = str(folder)
    try:
        yield
    finally:
        del os.environ[PICKLE_DIR_ENV]


@contextmanager
def _removing_stray_tempdirs() -> Iterator[None]:
    # NOTE: escpos.capabilities calls tempfile.mkdtemp() at import even when the pickle
    # folder is set (the default argument of environ.get is evaluated), leaving one folder
    # in /tmp per process. Record the folders it makes and remove them afterwards.
    made: list[str] = []
    original = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> Any:
        path = original(*args, **kwargs)
        if sys._getframe(1).f_globals.get("__name__") == "escpos.capabilities":
            made.append(str(path))
        return path

    tempfile.mkdtemp = recording_mkdtemp
    try:
        yield
    finally:
        tempfile.mkdtemp = original
        for path in made:  # without a pickle folder, the pickle went here: only read at import
            shutil.rmtree(path, ignore_errors=True)
