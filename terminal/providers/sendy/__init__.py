"""Sendy (offline codes, online QR, activation): the driver, its assumed wire format, the fake."""
