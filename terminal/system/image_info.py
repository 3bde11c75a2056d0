"""Whether payterm runs on its own SD card image, read from ``/etc/payterm-image``.

The image recipe writes that file (``KEY=value`` lines, like ``os-release``):
``NAME=payterm``, ``VERSION=<payterm version>``, ``BUILD_ID=<date and commit>``. Values
may be quoted; blank lines and ``#`` comments are skipped. Its presence is what "on the
image" means: the doctor then gives fixes that fit a read-only root (docs/doctor.md).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IMAGE_FILE", "ImageInfo", "read_image_info"]

#: Where the image recipe writes what it built, relative to the system's root.
IMAGE_FILE = Path("etc/payterm-image")


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """The SD card image this terminal runs: its name, version and build."""

    name: str
    version: str = ""
    build_id: str = ""

    def describe(self) -> str:
        """One line, e.g. "payterm 0.2.0 (20250301-ab12cd3)"."""
        build = f" ({self.build_id})" if self.build_id else ""
        return f"{self.name} {self.version}".strip() + build


def read_image_info(root: Path = Path("/")) -> ImageInfo | None:
    """What ``<root>/etc/payterm-image`` says; None when it is not there (not the image)."""
    try:
        text = (root / IMAGE_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:  # an unbalanced quote: take the value as it stands
            words = [value]
        values[key.strip()] = " ".join(words)
    return ImageInfo(
        name=values.get("NAME") or "payterm",
        version=values.get("VERSION", ""),
        build_id=values.get("BUILD_ID", ""),
    )
