"""WebMoney (SBP, WebMoney, WeChat, Alipay QR): the driver, its assumed wire format, the fake."""
