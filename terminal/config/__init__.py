"""The terminal's configuration: its shape (``model``), loading one TOML file (``loader``).

``validation`` checks a file against the model and the ``rules`` with pydantic, telling every
problem in ``messages``' words; ``limits`` holds the range of every number and why; ``places``
checks on disk that the data folder can be where the file puts it; ``secrets`` reads the
secrets file; ``files`` reads TOML.
"""
