"""Inside the boot test's emulated machine: a virtual scanner and keypad, and the customer.

    guest.py serve              make the uinput scanner and keypad, then type what arrives
                                on the FIFO /run/payterm-vm/input ("keys ..." / "scan ...")
    guest.py keys 1 5 0 0 enter the cashier types on the keypad
    guest.py scan CODE          the customer's code is scanned
    guest.py pay                the customer confirms the newest payment at the sandbox

Runs with the terminal's own Python (/opt/payterm/venv/bin/python), which sees Debian's
python3-evdev. Test use only: it is installed in the boot test's image, never in the
product's.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

FIFO = Path("/run/payterm-vm/input")
SANDBOX = "http://127.0.0.1:8765"
#: USB ids of models in the udev rules' table, so the rules name the devices as on a real
#: terminal: /dev/payterm/scanner and /dev/payterm/keypad.
SCANNER_ID = (0x05E0, 0x1200)  # Zebra (Symbol) LS2208 / DS2208 in keyboard mode
KEYPAD_ID = (0x05A4, 0x9837)  # Targus number keypad


def serve() -> None:
    """Create both devices and type every command written to the FIFO, until killed."""
    from evdev import UInput, ecodes

    # Keys 1..127 (Esc through the keypad's): udev then takes each for a keyboard.
    keys = list(range(1, 128))
    scanner = UInput(
        {ecodes.EV_KEY: keys},
        name="payterm virtual scanner",
        vendor=SCANNER_ID[0],
        product=SCANNER_ID[1],
        bustype=ecodes.BUS_USB,
    )
    keypad = UInput(
        {ecodes.EV_KEY: keys},
        name="payterm virtual keypad",
        vendor=KEYPAD_ID[0],
        product=KEYPAD_ID[1],
        bustype=ecodes.BUS_USB,
    )
    FIFO.parent.mkdir(parents=True, exist_ok=True)
    if not FIFO.exists():
        os.mkfifo(FIFO)
    print("virtual scanner and keypad ready", flush=True)
    while True:
        with FIFO.open(encoding="ascii") as fifo:
            for line in fifo:
                kind, _, rest = line.strip().partition(" ")
                if kind == "scan":
                    _type(scanner, [*rest, "enter"], gap_s=0.004)
                elif kind == "keys":
                    _type(keypad, rest.split(), gap_s=0.15, keypad=True)


def _type(device: object, keys: list[str], *, gap_s: float, keypad: bool = False) -> None:
    from evdev import ecodes

    for key in keys:
        shift, code = _code(key, keypad)
        for value in (1, 0):
            if shift and value == 1:
                device.write(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 1)  # type: ignore[attr-defined]
            device.write(ecodes.EV_KEY, code, value)  # type: ignore[attr-defined]
            if shift and value == 0:
                device.write(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 0)  # type: ignore[attr-defined]
            device.syn()  # type: ignore[attr-defined]
        time.sleep(gap_s)


def _code(key: str, keypad: bool) -> tuple[bool, int]:
    from evdev import ecodes

    if key == "enter":
        return False, ecodes.KEY_KPENTER if keypad else ecodes.KEY_ENTER
    if key.isdigit():
        return False, getattr(ecodes, f"KEY_KP{key}" if keypad else f"KEY_{key}")
    special = {"-": "MINUS", ".": "DOT", "/": "SLASH", ":": "SEMICOLON", "?": "SLASH"}
    if key.isalpha():
        return key.isupper(), getattr(ecodes, f"KEY_{key.upper()}")
    return key in ":?", getattr(ecodes, f"KEY_{special[key]}")


def send(line: str) -> None:
    """Hand one command to the serving process."""
    with FIFO.open("w", encoding="ascii") as fifo:
        fifo.write(line + "\n")


def pay() -> None:
    """The customer confirms the newest payment in the sandbox's ledger."""
    request = urllib.request.Request(
        f"{SANDBOX}/control/customer",
        data=json.dumps({"action": "pay"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        print(answer.read().decode())


def main(argv: list[str]) -> int:
    """Run one of the commands in the module's docstring."""
    if not argv:
        print(__doc__)
        return 2
    command, args = argv[0], argv[1:]
    if command == "serve":
        serve()
    elif command == "keys":
        send("keys " + " ".join(args))
    elif command == "scan":
        send("scan " + args[0])
    elif command == "pay":
        pay()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
