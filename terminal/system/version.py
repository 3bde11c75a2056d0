"""payterm's version, as the info page, the doctor and ``payterm --version`` give it."""

from __future__ import annotations

__all__ = ["software_version"]


def software_version() -> str:
    """payterm's version: the installed package's, else the source tree's."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("payterm")
    except PackageNotFoundError:
        from terminal import __version__

        return __version__
