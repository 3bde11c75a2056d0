"""Reads ESC/POS bytes back into text lines, QR payloads, barcodes, images and cuts.

It understands what :class:`hw.printer.escpos_printer.EscposPrinter` (through python-escpos) sends,
plus the common commands around it; anything else is listed in ``ParsedSlip.unknown`` rather
than guessed. The emulated device uses it to show slips as text, tests to check the bytes.

It stays one module of a little over 400 lines: the parser is one table-driven state machine
whose command handlers share its cursor and style, and the result types below are what those
handlers build and nothing else makes; apart, neither half could be read without the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ParsedLine", "ParsedMark", "ParsedSlip", "RasterImage", "parse_escpos"]

Align = Literal["left", "center", "right"]

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A

#: ESC t page numbers (Epson numbering, which the cheap printers copy) to Python codecs.
CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 17: "cp866", 46: "cp1251", 59: "cp866"}
_ALIGNS: dict[int, Align] = {0: "left", 1: "center", 2: "right"}
_ALIGNS.update({n + 48: align for n, align in tuple(_ALIGNS.items())})  # ASCII "0".."2" too
_CODE128_TYPES = {73, 74}  # GS k m: CODE128 and GS1-128, data starts with a code set "{A|B|C"


def _arg_table(*groups: tuple[str, int]) -> dict[int, int]:
    return {ord(char): count for chars, count in groups for char in chars}


# Commands with fixed-length arguments: command byte -> how many argument bytes follow.
_ESC_ARGS = _arg_table(("SL", 0), ("-M3A+GV{r=UR ", 1), ("Bc$\\", 2), ("p", 3))
_GS_ARGS = _arg_table(("BbhwfH|aTIr", 1), ("LWP$", 2))


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One printed text line and the style it was printed in."""

    text: str
    align: Align = "left"
    bold: bool = False
    large: bool = False  # double width and/or double height


@dataclass(frozen=True, slots=True)
class ParsedMark:
    """Something printed that is not text: ``kind`` and its data (payload, code)."""

    kind: Literal["qr", "barcode", "image", "cut"]
    data: str = ""


@dataclass(frozen=True, slots=True)
class RasterImage:
    """A ``GS v 0`` raster image as sent: rows of ``width_bytes`` bytes, bit 1 printed black."""

    width_bytes: int
    height: int
    data: bytes

    def to_image(self) -> Image.Image:
        """The image as PIL mode "1", black where the printer prints."""
        from PIL import Image, ImageOps

        printed = Image.frombytes("1", (self.width_bytes * 8, self.height), self.data)
        return ImageOps.invert(printed.convert("L")).convert("1")


@dataclass(frozen=True, slots=True)
class ParsedSlip:
    """What a stream of ESC/POS bytes prints, in order (``items``) and summed up."""

    items: tuple[ParsedLine | ParsedMark, ...]
    rasters: tuple[RasterImage, ...] = ()
    unknown: tuple[bytes, ...] = ()

    @property
    def lines(self) -> tuple[ParsedLine, ...]:
        """Every text line, blank ones included."""
        return tuple(i for i in self.items if isinstance(i, ParsedLine))

    @property
    def text_lines(self) -> tuple[str, ...]:
        """The text of every line that is not blank, right-stripped."""
        return tuple(line.text.rstrip() for line in self.lines if line.text.strip())

    @property
    def qr_payloads(self) -> tuple[str, ...]:
        """Payloads of the QR codes printed with the native ``GS ( k`` command."""
        return self._marks("qr")

    @property
    def barcodes(self) -> tuple[str, ...]:
        """Data of the barcodes printed with ``GS k`` (CODE128 without its code-set prefix)."""
        return self._marks("barcode")

    @property
    def images(self) -> int:
        """How many raster or column images were printed."""
        return len(self._marks("image"))

    @property
    def cuts(self) -> int:
        """How many cuts (full or partial) were sent."""
        return len(self._marks("cut"))

    def to_text(self, columns: int = 32) -> str:
        """The slip as plain text ``columns`` wide, for a terminal or a log."""
        out: list[str] = []
        for item in self.items:
            if isinstance(item, ParsedMark):
                out.append(_mark_text(item, columns))
            else:
                text = item.text.rstrip()
                # Double-width characters take two columns each.
                out.append(_aligned(" ".join(text) if item.large else text, item.align, columns))
        return "\n".join(out)

    def _marks(self, kind: str) -> tuple[str, ...]:
        return tuple(i.data for i in self.items if isinstance(i, ParsedMark) and i.kind == kind)


def parse_escpos(data: bytes, *, encoding: str = "cp866") -> ParsedSlip:
    """Parse ``data``; text is decoded with ``encoding`` until an ``ESC t`` selects a page."""
    parser = _Parser(data, encoding)
    parser.run()
    return ParsedSlip(tuple(parser.items), tuple(parser.rasters), tuple(parser.unknown))


# --- parser ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Style:
    align: Align = "left"
    bold: bool = False  # ESC E
    mode: int = 0  # ESC ! bits: 8 bold, 16 double height, 32 double width
    size: int = 0  # GS ! : high nibble width - 1, low nibble height - 1

    @property
    def is_bold(self) -> bool:
        return self.bold or bool(self.mode & 8)

    @property
    def is_large(self) -> bool:
        return bool(self.mode & 0x30) or self.size != 0


@dataclass(slots=True)
class _Parser:
    data: bytes
    default_encoding: str
    pos: int = 0
    style: _Style = field(default_factory=_Style)
    encoding: str = ""
    text: list[str] = field(default_factory=list)
    line_bold: bool = False
    line_large: bool = False
    line_align: Align = "left"
    qr_stored: str = ""
    in_column_image: bool = False
    items: list[ParsedLine | ParsedMark] = field(default_factory=list)
    rasters: list[RasterImage] = field(default_factory=list)
    unknown: list[bytes] = field(default_factory=list)

    def run(self) -> None:
        self.encoding = self.default_encoding
        while self.pos < len(self.data):
            byte = self.data[self.pos]
            self.pos += 1
            if byte == ESC:
                self.esc()
            elif byte == GS:
                self.gs()
            elif byte == FS:
                self.fs()
            elif byte == DLE:
                self.dle()
            elif byte in (LF, 0x0C):
                self.end_line(blank_ok=True)
            elif byte == 0x09:
                self.put(b" ")
            elif byte >= 0x20:
                self.put(bytes([byte]))
        self.end_line(blank_ok=False)

    # text

    def put(self, raw: bytes) -> None:
        if not self.text:
            self.line_align, self.line_bold, self.line_large = self.style.align, False, False
        self.line_bold |= self.style.is_bold
        self.line_large |= self.style.is_large
        self.text.append(raw.decode(self.encoding, errors="replace"))

    def end_line(self, *, blank_ok: bool) -> None:
        if self.text:
            line = ParsedLine("".join(self.text), self.line_align, self.line_bold, self.line_large)
            self.items.append(line)
        elif blank_ok:
            self.items.append(ParsedLine("", self.style.align))
        self.text = []

    def mark(self, kind: Literal["qr", "barcode", "image", "cut"], data: str = "") -> None:
        self.end_line(blank_ok=False)
        self.items.append(ParsedMark(kind, data))

    # reading

    def take(self, count: int) -> bytes:
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        chunk = self.take(1)
        return chunk[0] if chunk else 0

    def word(self) -> int:
        low, high = self.byte(), self.byte()
        return low + 256 * high

    def unknown_command(self, prefix: int, command: int) -> None:
        self.unknown.append(bytes([prefix, command]))

    # ESC

    def esc(self) -> None:
        command = self.byte()
        handler = _ESC_HANDLERS.get(command)
        if handler is not None:
            handler(self)
        elif command in _ESC_ARGS:
            self.take(_ESC_ARGS[command])
        else:
            self.unknown_command(ESC, command)

    def esc_init(self) -> None:
        self.end_line(blank_ok=False)
        self.style = _Style()
        self.encoding = self.default_encoding

    def esc_mode(self) -> None:
        self.style.mode = self.byte()

    def esc_bold(self) -> None:
        self.style.bold = bool(self.byte() & 1)

    def esc_align(self) -> None:
        self.style.align = _ALIGNS.get(self.byte(), "left")

    def esc_code_page(self) -> None:
        self.encoding = CODE_PAGES.get(self.byte(), self.default_encoding)

    def esc_feed(self) -> None:
        self.byte()
        self.end_line(blank_ok=False)

    def esc_cut(self) -> None:
        self.mark("cut")

    def esc_column_image(self) -> None:
        mode, width = self.byte(), self.word()
        self.take(width * (3 if mode >= 32 else 1))
        if not self.in_column_image:
            self.mark("image")
        # python-escpos sends one ESC * stripe per text line between ESC 3 and ESC 2.
        self.in_column_image = True

    def esc_line_spacing_reset(self) -> None:
        self.in_column_image = False

    # GS

    def gs(self) -> None:
        command = self.byte()
        handler = _GS_HANDLERS.get(command)
        if handler is not None:
            handler(self)
        elif command in _GS_ARGS:
            self.take(_GS_ARGS[command])
        else:
            self.unknown_command(GS, command)

    def gs_size(self) -> None:
        self.style.size = self.byte()

    def gs_cut(self) -> None:
        mode = self.byte()
        if mode in (65, 66, 97, 98, 103, 104):
            self.byte()
        self.mark("cut")

    def gs_barcode(self) -> None:
        kind = self.byte()
        if kind <= 6:
            end = self.data.find(b"\x00", self.pos)
            end = len(self.data) if end < 0 else end
            code, self.pos = self.data[self.pos : end], end + 1
        else:
            code = self.take(self.byte())
        if kind in _CODE128_TYPES:
            self.mark("barcode", _code128_text(code))
        else:
            self.mark("barcode", code.decode("ascii", errors="replace"))

    def gs_paren(self) -> None:
        function = self.byte()
        body = self.take(self.word())
        if function == ord("k") and body[:1] == b"1":
            self.two_d_code(body[1:])
        elif function == ord("L") and body[1:2] == b"2":  # graphics: fn 50 prints the buffer
            self.mark("image")

    def two_d_code(self, body: bytes) -> None:
        """``GS ( k`` for QR (cn "1"): fn "P" stores the payload, fn "Q" prints it."""
        function = body[:1]
        if function == b"P":
            self.qr_stored = body[2:].decode("utf-8", errors="replace")
        elif function == b"Q":
            self.mark("qr", self.qr_stored)

    def gs_large_graphics(self) -> None:
        if self.byte() != ord("L"):
            self.unknown_command(GS, ord("8"))
            return
        length = int.from_bytes(self.take(4), "little")
        body = self.take(length)
        if body[1:2] == b"2":
            self.mark("image")

    def gs_raster(self) -> None:
        self.byte()  # "0"
        self.byte()  # density
        width_bytes, height = self.word(), self.word()
        self.rasters.append(RasterImage(width_bytes, height, self.take(width_bytes * height)))
        self.mark("image")

    # FS and DLE

    def fs(self) -> None:
        command = self.byte()
        if command not in (ord("&"), ord(".")):  # Kanji mode on/off: no arguments
            self.unknown_command(FS, command)

    def dle(self) -> None:
        command = self.byte()
        if command == 0x04:  # DLE EOT n: real-time status request
            self.byte()
        elif command == 0x14:  # DLE DC4 fn m t
            self.take(3)
        else:
            self.unknown_command(DLE, command)


_ESC_HANDLERS = {
    ord("@"): _Parser.esc_init,
    ord("!"): _Parser.esc_mode,
    ord("E"): _Parser.esc_bold,
    ord("a"): _Parser.esc_align,
    ord("t"): _Parser.esc_code_page,
    ord("d"): _Parser.esc_feed,
    ord("J"): _Parser.esc_feed,
    ord("i"): _Parser.esc_cut,
    ord("m"): _Parser.esc_cut,
    ord("*"): _Parser.esc_column_image,
    ord("2"): _Parser.esc_line_spacing_reset,
}
_GS_HANDLERS = {
    ord("!"): _Parser.gs_size,
    ord("V"): _Parser.gs_cut,
    ord("k"): _Parser.gs_barcode,
    ord("("): _Parser.gs_paren,
    ord("8"): _Parser.gs_large_graphics,
    ord("v"): _Parser.gs_raster,
}


def _code128_text(code: bytes) -> str:
    """ESC/POS CODE128 data as the text it encodes: ``{A``/``{B``/``{C`` switch code sets
    (set C carries two digits per byte), ``{{`` is a literal brace."""
    out, code_set, index = [], "B", 0
    while index < len(code):
        byte = code[index]
        if byte == ord("{") and index + 1 < len(code):
            nxt = chr(code[index + 1])
            index += 2
            if nxt in "ABC":
                code_set = nxt
            elif nxt == "{":
                out.append("{")
            continue
        out.append(f"{byte:02d}" if code_set == "C" else chr(byte))
        index += 1
    return "".join(out)


def _aligned(text: str, align: Align, columns: int) -> str:
    if align == "center":
        return text.center(columns).rstrip()
    if align == "right":
        return text.rjust(columns)
    return text


def _mark_text(mark: ParsedMark, columns: int) -> str:
    if mark.kind == "cut":
        return "✂" + "-" * (columns - 1)
    label = {"qr": "[QR] ", "barcode": "[barcode] ", "image": "[image]"}[mark.kind]
    return _aligned(label + mark.data, "center", columns)
