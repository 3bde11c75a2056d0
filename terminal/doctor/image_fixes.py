"""Fixes that fit the SD card image: no raspi-config, no pip or apt on a read-only root.

The parts' own errors (from ``hw``) give the fix for any Raspberry Pi OS or Debian system:
``raspi-config``, ``pip install``, ``apt-get``. On payterm's image (``/etc/payterm-image``
is there) none of those exist and the root is read-only, but I²C and SPI are on in
``config.txt``, and lgpio, the [pi] extras and libusb are installed. :func:`fit_to_image`
gives such a row the fix that names what the image has. Off the image rows are untouched.
"""

from __future__ import annotations

import dataclasses
import re

from terminal.doctor.results import CheckResult, Status
from terminal.system.image_info import ImageInfo

__all__ = ["IMAGE_CONFIG_TXT", "fit_to_image", "fits_the_image"]

#: The Pi firmware's settings on the image: the boot partition (FAT), editable from a PC.
IMAGE_CONFIG_TXT = "/boot/firmware/config.txt"
#: Where a technician's own firmware settings go (config.txt is rewritten by each update).
IMAGE_USERCFG_TXT = "/boot/firmware/usercfg.txt"

_REFLASH = (
    "is part of the image: if it is missing the card is damaged; re-flash it "
    "(docs/image.md) after saving the data with payterm export (docs/data.md)"
)

#: (what the row says, the fix on the image), the first match wins.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"no I²C bus"),
        f"the image turns I²C on with dtparam=i2c_arm=on in config.txt on the boot partition "
        f"({IMAGE_CONFIG_TXT}); if it was taken out, put it in {IMAGE_USERCFG_TXT} (updates "
        "rewrite config.txt) and reboot; or set display.i2c_port to the bus the display is on",
    ),
    (
        re.compile(r"no SPI device"),
        f"the image turns SPI on with dtparam=spi=on in config.txt on the boot partition "
        f"({IMAGE_CONFIG_TXT}); if it was taken out, put it in {IMAGE_USERCFG_TXT} and reboot; "
        "or set display.spi_port / display.spi_device (docs/hardware/display.md)",
    ),
    (
        re.compile(r"serial port|raspi-config", re.IGNORECASE),
        "the image's serial console holds the header's UART (console=ttyS1,115200 in "
        "slot-a/cmdline.txt and slot-b/cmdline.txt on the boot partition): take it out of both "
        "and reboot (an update writes it back), or use a USB serial adapter",
    ),
    (re.compile(r"lgpio|GPIO library", re.IGNORECASE), f"lgpio {_REFLASH}"),
    (re.compile(r"libusb", re.IGNORECASE), f"libusb {_REFLASH}"),
    (re.compile(r"ca-certificates"), (
        "the CA certificates come with the image: if the clock is right, update the terminal "
        "to a newer image (docs/image.md)"
    )),
    (
        re.compile(r"pip install|backend installed|not installed|needs the Python package"),
        "the hardware backends (payterm[pi]) are part of the image: if one is missing the card "
        "is damaged; re-flash it (docs/image.md) after saving the data with payterm export "
        "(docs/data.md)",
    ),
)  # fmt: skip

#: Words a fix must not say on the image: tools it does not have, or a root it cannot change.
_NOT_ON_THE_IMAGE = re.compile(r"raspi-config|pip install|apt(-get)? install|sudo apt")


def fit_to_image(result: CheckResult, image: ImageInfo | None) -> CheckResult:
    """``result`` with a fix that names what exists on the image (unchanged off the image)."""
    if image is None or result.status is Status.PASS:
        return result
    said = f"{result.detail} {result.fix}"
    if not _NOT_ON_THE_IMAGE.search(said) and "config.txt" not in said:
        return result
    for pattern, fix in _RULES:
        if pattern.search(said):
            detail = _without_tool_advice(result.detail)
            return dataclasses.replace(result, detail=detail, fix=fix)
    return result


def fits_the_image(text: str) -> bool:
    """True when ``text`` names no tool the image lacks (raspi-config, pip, apt)."""
    return _NOT_ON_THE_IMAGE.search(text) is None


def _without_tool_advice(detail: str) -> str:
    """The detail with a parenthesis of off-image advice taken out ("(pip install lgpio)")."""
    return re.sub(r"\s*\([^()]*(?:raspi-config|pip install|apt)[^()]*\)", "", detail).strip()
