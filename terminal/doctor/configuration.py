"""The checks of the configuration file and of its secrets file."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

from terminal.config.loader import load_config
from terminal.config.model import Config
from terminal.config.training import check_training
from terminal.doctor.results import CheckResult, Status
from terminal.errors import ConfigError

__all__ = ["check_config", "check_secrets_file", "check_training_mode"]


def check_config(config: Config | None, error: ConfigError | None = None) -> CheckResult:
    """The configuration file (and its secrets file) loads without a ConfigError."""
    source = config.source if config is not None else (error.path if error else "")
    if error is None and config is not None and Path(config.source).is_file():
        try:
            check_training(load_config(Path(config.source)))  # read again: it may have changed
        except ConfigError as exc:
            error = exc
    if error is None and config is not None:
        try:
            check_training(config)
        except ConfigError as exc:
            error = exc
    if error is not None or config is None:
        fix = f"correct the setting named, then run: payterm check-config {shlex.quote(source)}"
        return CheckResult("config", Status.FAIL, str(error), fix)
    detail = f"{source}: {len(config.providers)} provider(s), hardware {config.terminal.hardware}"
    return CheckResult("config", Status.PASS, detail)


def check_training_mode(config: Config) -> CheckResult:
    """Whether this is a training terminal: it then takes no real payments (a WARN, not a FAIL)."""
    if not config.terminal.training:
        return CheckResult("training", Status.PASS, "off: payments are real")
    detail = "TRAINING terminal: no real payments; every screen and slip says TRAINING"
    fix = 'to take payments: set [terminal] training = false, hardware = "pi" and a real provider'
    return CheckResult("training", Status.WARN, detail, fix)


def check_secrets_file(config: Config) -> CheckResult:
    """The secrets file exists and no user other than its owner and group may read or write it."""
    path = config.terminal.secrets_file
    if path is None:
        return CheckResult("secrets file", Status.SKIP, "none configured (terminal.secrets_file)")
    quoted = shlex.quote(str(path))
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        fix = f"create it from config/secrets.example.toml, then run: chmod 600 {quoted}"
        return CheckResult("secrets file", Status.FAIL, f"{path} does not exist", fix)
    except OSError as exc:
        fix = "run the doctor as the terminal's user (or root) to check it"
        return CheckResult("secrets file", Status.FAIL, f"{path}: {exc.strerror or exc}", fix)
    if mode & 0o006:
        may = " and ".join(w for w, bit in (("read", 0o004), ("write", 0o002)) if mode & bit)
        detail = f"{path} has mode {mode:04o}: every user on the terminal may {may} it"
        return CheckResult("secrets file", Status.FAIL, detail, f"run: chmod 600 {quoted}")
    return CheckResult("secrets file", Status.PASS, f"{path}: mode {mode:04o}")
