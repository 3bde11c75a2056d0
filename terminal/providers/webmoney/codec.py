"""ASSUMED wire encoding of the WebMoney POS gateway: SOAP 1.1 messages signed with the agent key.

Nothing of this gateway's wire format is public (docs/providers/webmoney.md). What is known
is the configuration and the behaviour (agent number, WMID, POS number, CrsId, agent key,
a PKCS#12 client certificate, a WCF-style ``/PosIntegration2/ApiService.svc`` address,
four payment types, polling every 5 s). Everything in THIS module is a guess, kept in one
place so that the real specification replaces this file and nothing else:

- transport: SOAP 1.1 over HTTPS (WCF ``basicHttpBinding``, the default of an ``.svc``
  service), one ``POST`` to the service address per call, ``SOAPAction`` naming the
  operation of contract ``IApiService`` in WCF's default namespace ``http://tempuri.org/``;
- operations: ``CreateQrPayment``, ``GetPaymentStatus``, ``CancelPayment``,
  ``RefundPayment``, each keyed by the terminal's order id (``OrderId``);
- every operation answers one flat record ``<Op>Result`` (:data:`RESULT_FIELDS`);
- signing: ``Sign`` = upper-case hex HMAC-SHA256, keyed with the agent key, of the
  operation's label and its field values joined by ``|`` (:func:`canonical`); answers
  are signed the same way under the label ``<Op>Result``;
- amounts: decimal major units (``"125.00"``) with an ISO 4217 ``Currency``;
- result codes (:class:`Result`), payment states (:data:`STATE_MAP`) and payment-type
  codes (:data:`PAYMENT_TYPE_CODES`).

The driver uses :func:`encode_request` and :func:`decode_reply`; the loopback fake uses
:func:`decode_request`, :func:`encode_reply` and :func:`encode_fault`. Parsing refuses any
document type declaration, so no entity can be expanded or fetched.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import xml.etree.ElementTree as ET  # noqa: S405 - DTDs are refused before parsing (_parse)
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from terminal.providers.base import PaymentStatus

__all__ = [
    "Operation",
    "Result",
    "Reply",
    "WireRequest",
    "WireError",
    "SignatureMismatch",
    "MERCHANT_FIELDS",
    "REQUEST_FIELDS",
    "RESULT_FIELDS",
    "STATE_MAP",
    "PAYMENT_TYPE_CODES",
    "canonical",
    "sign",
    "encode_request",
    "decode_reply",
    "decode_request",
    "operation_for",
    "encode_reply",
    "encode_fault",
]

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SERVICE = "http://tempuri.org/"  # WCF's namespace when the contract names none
CONTRACT = "IApiService"
CONTENT_TYPE = "text/xml; charset=utf-8"
MAX_BODY_BYTES = 64 * 1024  # an answer is one small record

ET.register_namespace("s", NS_SOAP)


class Operation(enum.Enum):
    """The gateway's operations (assumed names)."""

    CREATE = "CreateQrPayment"
    STATUS = "GetPaymentStatus"
    CANCEL = "CancelPayment"
    REFUND = "RefundPayment"

    @property
    def action(self) -> str:
        """The ``SOAPAction`` header's value (WCF quotes it)."""
        return f'"{NS_SERVICE}{CONTRACT}/{self.value}"'


class Result(enum.IntEnum):
    """``ResultCode`` of an answer (assumed): 0 is a proper record, the rest are refusals."""

    OK = 0
    NOT_FOUND = 1  # no payment under this OrderId
    DUPLICATE_ORDER = 2  # OrderId already used with another amount or payment type
    ALREADY_PAID = 3  # cancel refused: the payment is paid (State says so)
    NOT_PAID = 4  # refund refused: the payment is not paid
    REFUND_EXCEEDS = 5  # refund refused: more than was paid
    REFUND_CONFLICT = 6  # RefundId already used for another refund
    BAD_SIGNATURE = 10  # the request's Sign is wrong (wrong agent key)
    UNKNOWN_TERMINAL = 11  # the agent, POS or CrsId is not known to the gateway
    BAD_REQUEST = 12  # a field is missing or malformed


#: The merchant's identity, sent first in every request (signing order).
MERCHANT_FIELDS: tuple[str, ...] = ("AgentId", "Wmid", "PosId", "CrsId", "PaymentType")

#: Each operation's request fields in signing order (``Sign`` itself excluded).
REQUEST_FIELDS: dict[Operation, tuple[str, ...]] = {
    Operation.CREATE: (*MERCHANT_FIELDS, "OrderId", "Amount", "Currency", "Description"),
    Operation.STATUS: (*MERCHANT_FIELDS, "OrderId"),
    Operation.CANCEL: (*MERCHANT_FIELDS, "OrderId"),
    Operation.REFUND: (*MERCHANT_FIELDS, "OrderId", "RefundId", "Amount", "Currency"),
}

#: Every answer's fields in signing order (``Sign`` excluded); absent ones are empty.
RESULT_FIELDS: tuple[str, ...] = (
    "ResultCode",
    "ResultText",
    "OrderId",
    "TransactionId",
    "State",
    "Amount",
    "Currency",
    "QrData",
    "RefundId",
)

#: The gateway's payment states (assumed words) and what they mean to the engine.
STATE_MAP: dict[str, PaymentStatus] = {
    "Created": PaymentStatus.PENDING,  # QR issued, nobody has scanned it yet
    "InProgress": PaymentStatus.PENDING,  # scanned, the customer's app is paying
    "Paid": PaymentStatus.PAID,
    "PartiallyRefunded": PaymentStatus.PAID,  # paid, part of it given back
    "Rejected": PaymentStatus.DECLINED,
    "Expired": PaymentStatus.EXPIRED,
    "Cancelled": PaymentStatus.CANCELLED,
    "Refunded": PaymentStatus.REFUNDED,
}

#: The gateway's code of each payment type (assumed); ``options.payment_type_code`` overrides.
PAYMENT_TYPE_CODES: dict[str, str] = {"sbp": "1", "webmoney": "2", "wechat": "3", "alipay": "4"}


class WireError(Exception):
    """A message that is not this encoding (garbage, a missing field, a SOAP fault)."""


class SignatureMismatch(WireError):
    """A message whose ``Sign`` does not match its fields under the agent key."""


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One encoded request: the headers and body to ``POST`` to the service address."""

    operation: Operation
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """One decoded, signature-checked answer; text fields the gateway left out are empty."""

    operation: Operation
    result_code: int
    result_text: str = ""
    order_id: str = ""
    transaction_id: str = ""
    state: str = ""
    amount: str = ""
    currency: str = ""
    qr_data: str = ""
    refund_id: str = ""


def canonical(label: str, values: Sequence[str]) -> str:
    """The signed text: ``label|v1|v2|…`` with ``\\`` and ``|`` inside values escaped by ``\\``."""
    escaped = (value.replace("\\", "\\\\").replace("|", "\\|") for value in values)
    return "|".join((label, *escaped))


def sign(agent_key: str, label: str, values: Sequence[str]) -> str:
    """Upper-case hex HMAC-SHA256 of :func:`canonical` keyed with the agent key."""
    text = canonical(label, values).encode("utf-8")
    return hmac.new(agent_key.encode("utf-8"), text, hashlib.sha256).hexdigest().upper()


# -- the driver's side ---------------------------------------------------------------


def encode_request(operation: Operation, fields: Mapping[str, str], agent_key: str) -> WireRequest:
    """Encode and sign a request; ``fields`` must hold every name of :data:`REQUEST_FIELDS`."""
    names = REQUEST_FIELDS[operation]
    values = [_clean(fields[name]) for name in names]
    signature = sign(agent_key, operation.value, values)
    body = _envelope(
        operation.value, "request", [*zip(names, values, strict=True), ("Sign", signature)]
    )
    headers = {"Content-Type": CONTENT_TYPE, "SOAPAction": operation.action}
    return WireRequest(operation, headers, body)


def decode_reply(operation: Operation, body: bytes, agent_key: str) -> Reply:
    """Decode ``operation``'s answer and check its signature; raises ``WireError``."""
    record = _record(_parse(body), f"{operation.value}Response", f"{operation.value}Result")
    _verify(agent_key, f"{operation.value}Result", RESULT_FIELDS, record)
    code = record.get("ResultCode", "")
    if not code.lstrip("-").isdigit():
        raise WireError(f"ResultCode {code!r} is not a number")
    return Reply(
        operation,
        int(code),
        result_text=record.get("ResultText", ""),
        order_id=record.get("OrderId", ""),
        transaction_id=record.get("TransactionId", ""),
        state=record.get("State", ""),
        amount=record.get("Amount", ""),
        currency=record.get("Currency", ""),
        qr_data=record.get("QrData", ""),
        refund_id=record.get("RefundId", ""),
    )


# -- the gateway's side (the loopback fake) ------------------------------------------


def decode_request(
    headers: Mapping[str, str], body: bytes, agent_key: str
) -> tuple[Operation, dict[str, str]]:
    """Decode a request (header names lower-case) and check its signature; raises ``WireError``."""
    action = headers.get("soapaction", "")
    operation = operation_for(action)
    if operation is None:
        raise WireError(f"unknown SOAPAction {action!r}")
    record = _record(_parse(body), operation.value, "request")
    missing = [name for name in REQUEST_FIELDS[operation] if name not in record]
    if missing:
        raise WireError(f"request lacks {', '.join(missing)}")
    _verify(agent_key, operation.value, REQUEST_FIELDS[operation], record)
    return operation, record


def operation_for(action: str) -> Operation | None:
    """The operation a ``SOAPAction`` header names, or None."""
    return next((op for op in Operation if op.action == action), None)


def encode_reply(operation: Operation, fields: Mapping[str, str], agent_key: str) -> bytes:
    """Encode and sign an answer; fields missing from ``fields`` are sent empty."""
    values = [_clean(fields.get(name, "")) for name in RESULT_FIELDS]
    signature = sign(agent_key, f"{operation.value}Result", values)
    pairs = [*zip(RESULT_FIELDS, values, strict=True), ("Sign", signature)]
    return _envelope(f"{operation.value}Response", f"{operation.value}Result", pairs)


def encode_fault(text: str) -> bytes:
    """A SOAP fault (what a WCF service answers with HTTP 500)."""
    envelope = ET.Element(f"{{{NS_SOAP}}}Envelope")
    fault = ET.SubElement(ET.SubElement(envelope, f"{{{NS_SOAP}}}Body"), f"{{{NS_SOAP}}}Fault")
    ET.SubElement(fault, "faultcode").text = "s:Client"
    ET.SubElement(fault, "faultstring").text = text
    return _serialize(envelope)


# -- private -------------------------------------------------------------------------


def _clean(value: str) -> str:
    """``value`` as XML carries it unchanged: line ends as ``\\n``, no other control characters.

    NOTE: an XML parser turns ``\\r\\n`` into ``\\n`` and XML 1.0 cannot carry most control
    characters, so the signed text is made of what survives the trip.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch in "\t\n" or ord(ch) >= 0x20)


def _envelope(outer: str, inner: str, pairs: Sequence[tuple[str, str]]) -> bytes:
    envelope = ET.Element(f"{{{NS_SOAP}}}Envelope")
    body = ET.SubElement(envelope, f"{{{NS_SOAP}}}Body")
    record = ET.SubElement(
        ET.SubElement(body, f"{{{NS_SERVICE}}}{outer}"), f"{{{NS_SERVICE}}}{inner}"
    )
    for name, value in pairs:
        ET.SubElement(record, f"{{{NS_SERVICE}}}{name}").text = value
    return _serialize(envelope, default_namespace=NS_SERVICE)


def _serialize(envelope: ET.Element, default_namespace: str | None = None) -> bytes:
    data: bytes = ET.tostring(
        envelope, encoding="utf-8", xml_declaration=True, default_namespace=default_namespace
    )
    return data


def _parse(body: bytes) -> ET.Element:
    """Parse a UTF-8 document that declares no DTD (so no entity is ever expanded)."""
    if len(body) > MAX_BODY_BYTES:
        raise WireError(f"message of {len(body)} bytes is too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError("message is not UTF-8") from exc
    # NOTE: decoded to str first, so expat parses it as UTF-8 whatever the XML declaration says.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise WireError("message declares a DTD")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD, so no entity expansion (checked above)
    except ET.ParseError as exc:
        raise WireError(f"message is not XML ({exc})") from exc
    if root.tag != f"{{{NS_SOAP}}}Envelope":
        raise WireError("message is not a SOAP envelope")
    return root


def _record(root: ET.Element, outer: str, inner: str) -> dict[str, str]:
    """The text fields of ``Body/outer/inner``; a SOAP fault or another shape is a WireError."""
    body = root.find(f"{{{NS_SOAP}}}Body")
    if body is None or len(body) != 1:
        raise WireError("SOAP envelope has no single body element")
    if body[0].tag == f"{{{NS_SOAP}}}Fault":
        raise WireError(f"SOAP fault: {body[0].findtext('faultstring', '')[:200]}")
    record = body[0].find(f"{{{NS_SERVICE}}}{inner}")
    if body[0].tag != f"{{{NS_SERVICE}}}{outer}" or record is None:
        raise WireError(f"answer is not {outer}/{inner}")
    fields: dict[str, str] = {}
    for child in record:
        namespace, _, name = child.tag.rpartition("}")
        if namespace.lstrip("{") != NS_SERVICE or len(child) or name in fields:
            raise WireError(f"unexpected element {child.tag!r}")
        fields[name] = child.text or ""
    return fields


def _verify(agent_key: str, label: str, names: Sequence[str], record: Mapping[str, str]) -> None:
    given = record.get("Sign", "")
    if not given:
        raise SignatureMismatch("message is not signed")
    expected = sign(agent_key, label, [record.get(name, "") for name in names])
    if not hmac.compare_digest(given.upper().encode("ascii", "replace"), expected.encode()):
        raise SignatureMismatch("message signature does not match")
