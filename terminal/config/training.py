"""The training guard: pretend parts and pretend providers only on a training terminal.

The emulated device (``hardware = "emulated"``), the built-in sandbox driver and
``url = "embedded"`` take no money: a terminal set up with them "succeeds" at payments no
provider ever saw. They are allowed only when ``[terminal] training = true``, and then the
terminal says TRAINING on every screen and slip. The other way round, a training terminal
never talks to a real provider: its slips say "NOT A PAYMENT", so it must not take money.

``payterm run``, ``payterm check-config``, the first-boot import and the doctor all ask
:func:`training_problems` (through :func:`check_training`), so they refuse the same files.
"""

from __future__ import annotations

from terminal.config.model import Config
from terminal.errors import ConfigError, ConfigProblem

__all__ = ["TRAINING_FIX", "training_problems", "check_training"]

#: What to do about a training-only setting on a terminal that is not set up for training.
TRAINING_FIX = (
    "set [terminal] training = true for a training terminal, or configure a real provider"
)


def training_problems(config: Config) -> list[ConfigProblem]:
    """Every setting of ``config`` that does not agree with its ``terminal.training``."""
    if config.terminal.training:
        return [
            ConfigProblem(
                f"providers.{name}.url",
                f"is {provider.url!r}, a real provider's address, but [terminal] training = "
                'true prints "NOT A PAYMENT" on every slip; use url = "embedded" on a '
                "training terminal, or set training = false to take real payments",
            )
            for name, provider in config.providers.items()
            if provider.driver != "sandbox" and provider.url != "embedded"
        ]
    problems: list[ConfigProblem] = []
    if config.terminal.hardware == "emulated":
        problems.append(
            ConfigProblem(
                "terminal.hardware",
                'is "emulated": every part is faked and no cashier can use it; set '
                '[terminal] training = true for a training terminal, or set hardware = "pi" '
                "on the terminal's own parts",
            )
        )
    for name, provider in config.providers.items():
        if provider.driver == "sandbox":
            problems.append(
                ConfigProblem(
                    f"providers.{name}.driver",
                    'is "sandbox", the built-in training provider, which takes no money; '
                    f"{TRAINING_FIX} (its driver and address, see docs/providers/)",
                )
            )
        if provider.url == "embedded":
            problems.append(
                ConfigProblem(
                    f"providers.{name}.url",
                    'is "embedded": a pretend provider runs inside the terminal and takes '
                    f"no money; {TRAINING_FIX} (its https:// address)",
                )
            )
    return problems


def check_training(config: Config) -> None:
    """Raise one ConfigError naming every setting :func:`training_problems` finds."""
    problems = training_problems(config)
    if problems:
        raise ConfigError.of(problems, path=config.source)
