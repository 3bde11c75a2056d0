"""The terminal's configuration: its shape (``model``), loading one TOML file (``loader``).

``validation`` checks a file against the model and the ``rules`` with pydantic, telling every
problem in ``messages``' words; ``secrets`` reads the secrets file; ``files`` reads TOML.
"""
