"""payterm: the software of a countertop QR and wallet payment terminal."""

__version__ = "0.1.0"
__all__ = ["__version__"]
