"""The configuration the demo runs with when it is given no file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from terminal.config.loader import demo_config
from terminal.config.model import Config

__all__ = ["DEMO_NFC_PATH", "builtin_demo_config"]

#: The demo terminal's NFC reader: the emulated device has a reader only when
#: ``nfc.path`` names one, as a Pi does, and the demo's supervisor badge must be tappable.
DEMO_NFC_PATH = "usb"


def builtin_demo_config(data_dir: Path) -> Config:
    """The built-in demo configuration (demo PIN and badge, the sandbox) with an NFC reader."""
    config = demo_config(data_dir)
    return dataclasses.replace(config, nfc=dataclasses.replace(config.nfc, path=DEMO_NFC_PATH))
