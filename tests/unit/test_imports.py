"""The terminal imports no hardware library until a device is opened."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

HARDWARE_LIBRARIES = ("gpiozero", "luma", "escpos", "evdev", "nfc")


@pytest.mark.parametrize(
    "module", ["terminal", "terminal.app", "terminal.cli", "terminal.runtime", "hw"]
)
def test_importing_loads_no_hardware_library(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {HARDWARE_LIBRARIES!r})\n"
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("package", ["terminal", "hw", "terminal.machine"])
def test_exported_names_exist(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert module.__all__
    assert not missing
