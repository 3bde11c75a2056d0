"""The service unit: `systemd-analyze verify` finds nothing; the settings that matter are set."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNIT = SYSTEMD_DIR / "payterm.service"
_EXEC = re.compile(r"^(Exec[A-Za-z]*=)([-@:+!]*)(\S+)(.*)$")


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Each section's settings in order; a key may repeat (DeviceAllow=, SystemCallFilter=)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"setting outside a section: {line}"
        assert not line.endswith("\\"), "no continued lines"
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    """Every value ``key`` has in ``section``, in order."""
    return [v for k, v in section if k == key]


def one(section: list[tuple[str, str]], key: str) -> str:
    """The one value of ``key`` in ``section`` (set exactly once)."""
    found = values(section, key)
    assert len(found) == 1, f"{key}= should be set once, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    """systemd/payterm.service, parsed."""
    return parse_unit(UNIT.read_text(encoding="utf-8"))


def test_type_notify_with_watchdog_and_restart(unit: dict[str, list[tuple[str, str]]]) -> None:
    service = unit["Service"]
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    assert one(service, "ExecStart") == (
        "/opt/payterm/venv/bin/payterm run --wait-on-error --config /etc/payterm/payterm.toml"
    )
    assert one(service, "WatchdogSec") == "30"
    assert one(service, "Restart") == "always"
    assert one(service, "RestartSec") == "2"
    # Stopping lets provider calls run for 15 s, then closes device and journal.
    assert int(one(service, "TimeoutStopSec")) >= 25
    assert int(one(service, "TimeoutStartSec")) >= 30
    assert int(one(unit["Unit"], "StartLimitBurst")) >= 5
    assert int(one(unit["Unit"], "StartLimitIntervalSec")) >= 60


def test_runs_as_its_own_user_with_the_hardware_groups(
    unit: dict[str, list[tuple[str, str]]],
) -> None:
    service = unit["Service"]
    assert one(service, "User") == "payterm"
    assert one(service, "Group") == "payterm"
    groups = " ".join(values(service, "SupplementaryGroups")).split()
    assert sorted(groups) == sorted(["input", "gpio", "i2c", "spi", "lp", "dialout", "plugdev"])
    assert one(service, "StateDirectory") == "payterm"
    assert one(service, "RuntimeDirectory") == "payterm"
    assert one(service, "WorkingDirectory") == "/run/payterm"
    environment = " ".join(values(service, "Environment")).split()
    assert "LG_WD=/run/payterm" in environment
    assert "PYTHONDONTWRITEBYTECODE=1" in environment


def test_hardening(unit: dict[str, list[tuple[str, str]]]) -> None:
    service = unit["Service"]
    expected = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "NoNewPrivileges": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native", "CapabilityBoundingSet": "",
        "DevicePolicy": "closed",
    }  # fmt: skip
    assert {key: one(service, key) for key in expected} == expected
    families = one(service, "RestrictAddressFamilies").split()
    assert sorted(families) == ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"]
    assert "PrivateDevices" not in dict(service), "it would hide /dev/input and GPIO"


def test_devices_the_hardware_needs_are_allowed(unit: dict[str, list[tuple[str, str]]]) -> None:
    allowed = dict(v.split() for v in values(unit["Service"], "DeviceAllow"))
    for group in ("input", "gpiochip", "i2c", "spi", "usb", "usb_device", "ttyUSB", "ttyACM"):
        assert allowed.get(f"char-{group}") == "rw", group
    assert not [name for name in allowed if "uinput" in name or name.startswith("/dev/")]


def test_ordering_and_install(unit: dict[str, list[tuple[str, str]]]) -> None:
    after = " ".join(values(unit["Unit"], "After")).split()
    assert "network.target" in after
    assert "time-sync.target" in after
    # A boot without a network must not wait for one (systemd-networkd-wait-online: 2 min).
    assert "network-online.target" not in after
    assert not values(unit["Unit"], "Wants")
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def _units_with_stub_commands(target: Path) -> list[Path]:
    """Copies of systemd/*.service whose missing Exec*= programs are a stub that exists.

    `systemd-analyze verify` insists that each command is executable; the real ones exist
    only on the terminal (/opt/payterm/venv/...).
    """
    stub = target / "bin" / "stub"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    copies = []
    for source in sorted(SYSTEMD_DIR.glob("*.service")):
        lines = []
        for line in source.read_text(encoding="utf-8").splitlines():
            match = _EXEC.match(line)
            if match and not Path(match[3]).exists():
                line = f"{match[1]}{match[2]}{stub}{match[4]}"
            lines.append(line)
        copy = target / source.name
        copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
        copies.append(copy)
    return copies


def _analyze() -> str:
    """The path of systemd-analyze, or skip the test."""
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed (apt install systemd)")
    return path


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    analyze = _analyze()
    copies = _units_with_stub_commands(tmp_path)
    assert copies, "no unit in systemd/"
    result = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, copies)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # warnings (unknown keys, …) count too
    assert result.stdout.strip() == ""


def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    """The check above can fail: an unknown key is reported."""
    analyze = _analyze()
    copy = _units_with_stub_commands(tmp_path)[0]
    copy.write_text(copy.read_text().replace("[Service]\n", "[Service]\nWatchDogSecs=30\n"))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=120
    )
    assert "WatchDogSecs" in result.stderr


def test_security_exposure_stays_low(tmp_path: Path) -> None:
    analyze = _analyze()
    copy = next(c for c in _units_with_stub_commands(tmp_path) if c.name == UNIT.name)
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    if match is None:
        pytest.skip(f"this systemd-analyze has no offline security check: {result.stderr[:200]}")
    assert float(match[1]) <= 2.0, result.stdout
