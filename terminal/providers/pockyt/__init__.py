"""Pockyt (customer codes and QR, ``verifySign``): the driver, its wire format, the fake."""
