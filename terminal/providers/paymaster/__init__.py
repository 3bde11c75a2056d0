"""PayMaster (SBP QR, v2 REST API): the driver, its wire format (``codec``), the loopback fake."""
