"""The terminal's configuration: its model (``model``), and loading one TOML file (``loader``)."""
