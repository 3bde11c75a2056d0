"""The terminal as a systemd service on its card: the service, status, first-boot import, logs."""
