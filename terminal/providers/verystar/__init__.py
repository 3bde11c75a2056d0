"""Verystar (VeryPay v3, Alipay and WeChat Pay): the driver, its wire format, the fake."""
