"""``payterm doctor``: run every check in order and print the table (or JSON).

:func:`run_doctor` runs every check and prints the report; :func:`diagnose` returns the
results. Parts are opened through a :class:`~terminal.doctor.hardware.DoctorHardware`:
by default the emulated device or the real ``hw`` factories, as ``terminal.hardware``
says; tests pass their own, built over the libraries' fakes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tomllib
from pathlib import Path
from typing import TextIO

from terminal.config.loader import load_config, parse_config
from terminal.config.model import Config
from terminal.doctor.configuration import check_config, check_secrets_file, check_training_mode
from terminal.doctor.hardware import DoctorHardware, default_hardware
from terminal.doctor.host import check_host
from terminal.doctor.image_fixes import fit_to_image
from terminal.doctor.network import check_provider
from terminal.doctor.probes import SystemProbes
from terminal.doctor.prompts import Asker
from terminal.doctor.report import exit_code, format_json, format_table
from terminal.doctor.results import CheckResult, awaitable_check, guard, guard_many
from terminal.doctor.session import PartsSession
from terminal.doctor.sync_targets import check_sync_targets
from terminal.doctor.system import (
    check_clock,
    check_disk,
    check_journal,
    held_parts,
    terminal_is_running,
)
from terminal.errors import ConfigError
from terminal.system.image_info import read_image_info
from terminal.system.netinfo import read_host_info

__all__ = ["diagnose", "load_for_doctor", "run_doctor", "run_doctor_file"]


async def run_doctor(
    config: Config,
    *,
    out: TextIO,
    as_json: bool,
    interactive: bool,
    print_slip: bool,
    hardware: DoctorHardware | None = None,
    system: SystemProbes | None = None,
    prompts: TextIO | None = None,
) -> int:
    """Check everything ``config`` names, print the table (or JSON) on ``out``; 1 if any FAIL.

    Prompts for the interactive checks go to ``prompts`` (default: ``out`` for the table,
    stderr with JSON so the JSON stays clean).
    """
    results = await diagnose(
        config,
        interactive=interactive,
        print_slip=print_slip,
        hardware=hardware,
        system=system,
        prompts=prompts or (sys.stderr if as_json else out),
    )
    return _report(results, out=out, as_json=as_json)


async def run_doctor_file(
    path: Path,
    *,
    out: TextIO,
    as_json: bool,
    interactive: bool,
    print_slip: bool,
    hardware: DoctorHardware | None = None,
    system: SystemProbes | None = None,
    prompts: TextIO | None = None,
) -> int:
    """:func:`run_doctor` on the config file at ``path``; a config that fails to load is a row.

    When the file is sound but its secrets file is not (e.g. readable by every user), every
    other check still runs.
    """
    config, error = load_for_doctor(path)
    results = await diagnose(
        config,
        config_error=error,
        interactive=interactive,
        print_slip=print_slip,
        hardware=hardware,
        system=system,
        prompts=prompts or (sys.stderr if as_json else out),
    )
    return _report(results, out=out, as_json=as_json)


def load_for_doctor(path: Path) -> tuple[Config | None, ConfigError | None]:
    """The config at ``path`` and its load error; without secrets when only they failed."""
    try:
        return load_config(path), None
    except ConfigError as error:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
            config = parse_config(data, source=str(path))
        except (ConfigError, OSError, UnicodeError, tomllib.TOMLDecodeError):
            return None, error
        return _relative_to(config, path.absolute().parent), error


async def diagnose(
    config: Config | None,
    *,
    interactive: bool = False,
    print_slip: bool = False,
    hardware: DoctorHardware | None = None,
    system: SystemProbes | None = None,
    prompts: TextIO | None = None,
    config_error: ConfigError | None = None,
) -> list[CheckResult]:
    """Run every check in order and return the results; nothing here raises for a bad part."""
    results = [check_config(config, config_error)]
    if config is None:
        return results
    results.append(check_training_mode(config))
    probes = system or SystemProbes()
    results.append(await guard("secrets file", awaitable_check(check_secrets_file, config)))
    results.append(await guard("clock", check_clock(probes)))
    results.append(await guard("disk", awaitable_check(check_disk, config, probes)))
    host = await asyncio.to_thread(read_host_info, probes.root, kernel=probes.net_kernel)
    image = read_image_info(probes.root)
    results += check_host(host, image)
    journal = await guard("journal", check_journal(config))
    results.append(journal)
    for name, provider in config.providers.items():
        results += await guard_many(f"provider {name}", check_provider(name, provider, probes))
    results += await guard_many("sync", check_sync_targets(config, probes))
    if config.terminal.hardware == "pi" and terminal_is_running(journal):
        # The service holds the real parts (input grabbed, GPIO lines and USB claimed):
        # opening them would fail or disturb a payment. Say so rather than FAIL.
        return [fit_to_image(r, image) for r in results + held_parts()]
    parts = hardware or default_hardware(config)
    asker = Asker(prompts or sys.stderr, act=parts.act, timeout_s=parts.prompt_timeout_s)
    async with PartsSession(config, parts, asker) as session:
        results += await session.check_parts(interactive=interactive)
        results = [fit_to_image(r, image) for r in results]
        if print_slip:
            results.append(await session.print_slip(results, host=host, image=image))
    return results


def _report(results: list[CheckResult], *, out: TextIO, as_json: bool) -> int:
    out.write(format_json(results) if as_json else format_table(results))
    out.flush()
    return exit_code(results)


def _relative_to(config: Config, folder: Path) -> Config:
    """Paths in the file are relative to its folder, as :func:`load_config` makes them."""
    terminal = config.terminal
    secrets = terminal.secrets_file
    terminal = dataclasses.replace(
        terminal,
        data_dir=folder / terminal.data_dir,
        secrets_file=None if secrets is None else folder / secrets,
    )
    return dataclasses.replace(config, terminal=terminal)
