"""The udev rules (systemd/udev/60-payterm.rules) are well formed and agree with the table.

The table of models is in docs/hardware/udev.md. A small parser reads the rules file, a
small model of udev's matching runs the rules against devices built the way sysfs shows
them (an event node under its input device under a USB interface and device; a uinput
device with no USB parent; a usblp node; a raw USB node; a tty; a gpiochip), and the
result must be the documented name and group. Where `udevadm verify` exists (systemd 253
or later) it checks the file too.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES_PATH = ROOT / "systemd" / "udev" / "60-payterm.rules"
DOC_PATH = ROOT / "docs" / "hardware" / "udev.md"

LINKS = {
    "payterm/scanner",
    "payterm/keypad",
    "payterm/printer",
    "payterm/printer-usb",
    "payterm/nfc",
}
GROUPS = {"input", "lp", "plugdev", "dialout", "gpio", "i2c", "spi"}
HEX4 = re.compile(r"[0-9a-f]{4}")

# udev(7): which keys match, which assign, which do both, and with which operators.
MATCH_OPS = {"==", "!="}
MATCH_ONLY = {
    "ACTION",
    "DEVPATH",
    "KERNEL",
    "KERNELS",
    "SUBSYSTEM",
    "SUBSYSTEMS",
    "DRIVER",
    "DRIVERS",
    "ATTRS",
    "TAGS",
    "TEST",
    "PROGRAM",
    "RESULT",
    "CONST",
}
ASSIGN_OPS = {
    "NAME": {"=", ":="},
    "SYMLINK": {"=", "+=", "-=", ":="},
    "OWNER": {"=", ":="},
    "GROUP": {"=", ":="},
    "MODE": {"=", ":="},
    "SECLABEL": {"=", "+=", ":="},
    "ATTR": {"="},
    "SYSCTL": {"="},
    "ENV": {"=", "+="},
    "TAG": {"=", "+=", "-="},
    "RUN": {"=", "+=", ":="},
    "LABEL": {"="},
    "GOTO": {"="},
    "IMPORT": {"="},
    "OPTIONS": {"=", "+="},
}
MATCH_AND_ASSIGN = {"NAME", "SYMLINK", "ATTR", "SYSCTL", "ENV", "TAG"}
NEEDS_ATTR = {"ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "IMPORT", "SECLABEL"}
MAY_HAVE_ATTR = NEEDS_ATTR | {"TEST", "RUN"}
IMPORT_TYPES = {"program", "builtin", "file", "db", "cmdline", "parent"}
PARENT_KEYS = {"KERNELS", "SUBSYSTEMS", "DRIVERS", "ATTRS", "TAGS"}
ID_ATTRS = {"idVendor", "idProduct", "id/vendor", "id/product"}

TOKEN = re.compile(r'\s*([A-Z]+)(?:\{([^{}"]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"\\]*)"\s*')


class RuleSyntaxError(ValueError):
    """A line of the rules file that udev would not read as intended."""


@dataclass(frozen=True)
class Token:
    """One ``KEY{attr}OP"value"`` of a rule."""

    key: str
    attr: str | None
    op: str
    value: str

    @property
    def is_match(self) -> bool:
        """Whether this token tests the device rather than assigning to it."""
        return self.op in MATCH_OPS


@dataclass(frozen=True)
class Rule:
    """One rule: a logical line (continuations joined) of comma-separated tokens."""

    line: int
    tokens: tuple[Token, ...]

    def values(self, key: str, attr: str | None = None) -> list[str]:
        """The values of the tokens with this key (and attribute)."""
        return [t.value for t in self.tokens if t.key == key and t.attr == attr]

    def find(self, key: str, attr: str | None = None) -> Token | None:
        """The first token with this key (and attribute), if any."""
        return next((t for t in self.tokens if t.key == key and t.attr == attr), None)


def parse_rules(text: str) -> list[Rule]:
    """Parse udev rules text; raises :class:`RuleSyntaxError` naming the line."""
    rules: list[Rule] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
            if raw.strip().startswith("#") or not raw.strip():
                continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        rules.append(parse_rule(pending + raw, start))
        pending = ""
    if pending:
        raise RuleSyntaxError(f"line {start}: the file ends inside a continued line")
    return rules


def parse_rule(line: str, number: int) -> Rule:
    """Parse one logical line into its tokens."""
    tokens: list[Token] = []
    pos = 0
    while True:
        found = TOKEN.match(line, pos)
        if found is None:
            raise RuleSyntaxError(f"line {number}: cannot read {line[pos:].strip()!r}")
        key, attr, op, value = found.groups()
        tokens.append(Token(key, attr, op, value))
        pos = found.end()
        if pos == len(line):
            return Rule(number, tuple(tokens))
        if line[pos] != ",":
            raise RuleSyntaxError(f"line {number}: expected ',' before {line[pos:].strip()!r}")
        pos += 1


def check_token(token: Token) -> str | None:
    """What is wrong with a token's key, attribute or operator, or None."""
    key, attr, op = token.key, token.attr, token.op
    if key not in MATCH_ONLY and key not in ASSIGN_OPS:
        return f"unknown key {key}"
    if key in NEEDS_ATTR and not attr:
        return f"{key} needs {{attribute}}"
    if attr is not None and key not in MAY_HAVE_ATTR:
        return f"{key} takes no {{attribute}}"
    if key == "IMPORT" and attr not in IMPORT_TYPES:
        return f"IMPORT{{{attr}}} is not an import type"
    if op in MATCH_OPS:
        if key not in MATCH_ONLY and key not in MATCH_AND_ASSIGN:
            return f"{key} cannot be matched ({op})"
    elif key in MATCH_ONLY:
        return f"{key} is a match key: use == or !=, not {op}"
    elif op not in ASSIGN_OPS[key]:
        return f"{key} cannot be assigned with {op}"
    return None


def rule_symlinks(rule: Rule) -> list[str]:
    """The links a rule adds."""
    return [link for value in rule.values("SYMLINK") for link in value.split()]


def rule_id(rule: Rule) -> tuple[str, str | None] | None:
    """The (vendor, product) a rule matches, product None for a whole vendor."""
    for vendor_key, product_key in (("id/vendor", "id/product"), ("idVendor", "idProduct")):
        for key in ("ATTRS", "ATTR"):
            vendor = rule.values(key, vendor_key)
            if vendor:
                product = rule.values(key, product_key)
                return vendor[0], product[0] if product else None
    return None


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    """The shipped rules, parsed."""
    return parse_rules(RULES_PATH.read_text(encoding="utf-8"))


# --- the table in docs/hardware/udev.md ---------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A model row of the documented table."""

    vendor: str
    product: str | None
    link: str
    text: str


def doc_rows(text: str) -> list[Row]:
    """Every table row whose first cell is a `vvvv:pppp` or `vvvv:*` id."""
    rows: list[Row] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        first = re.fullmatch(r"`([^`]*)`", cells[0])
        if first is None or ":" not in first.group(1) or first.group(1).startswith("/"):
            continue
        vendor, _, product = first.group(1).partition(":")
        assert HEX4.fullmatch(vendor), f"doc row {line!r}: vendor not 4 lowercase hex digits"
        assert product == "*" or HEX4.fullmatch(product), f"doc row {line!r}: bad product"
        link = re.fullmatch(r"`/dev/(payterm/[a-z-]+)`", cells[2])
        assert link is not None, f"doc row {line!r}: third cell is not a /dev/payterm link"
        rows.append(Row(vendor, None if product == "*" else product, link.group(1), line))
    return rows


@dataclass(frozen=True)
class VirtualDevice:
    """A row of the doc's table of the boot test's uinput devices."""

    vendor: str
    product: str
    bustype: str
    name: str
    link: str


def doc_virtual_devices(text: str) -> list[VirtualDevice]:
    """The uinput devices the doc tells the boot test to create."""
    found = []
    row = re.compile(
        r"^\| virtual \w+ \| `([0-9a-f]{4}):([0-9a-f]{4})`[^|]*\| `0x([0-9a-f]{2})`[^|]*"
        r"\| `([^`]+)` \| `/dev/(payterm/[a-z]+)` \|$"
    )
    for line in text.splitlines():
        m = row.match(line)
        if m:
            vendor, product, bus, name, link = m.groups()
            found.append(VirtualDevice(vendor, product, bus.rjust(4, "0"), name, link))
    return found


@pytest.fixture(scope="module")
def doc_text() -> str:
    """The text of docs/hardware/udev.md."""
    return DOC_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows(doc_text: str) -> list[Row]:
    """The model rows of the documented table."""
    return doc_rows(doc_text)


# --- a model of udev's matching -------------------------------------------------------------


@dataclass
class Dev:
    """A device as sysfs shows it: subsystem, kernel name, attributes, properties."""

    subsystem: str
    kernel: str
    attrs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    driver: str = ""


@dataclass
class Outcome:
    """What the rules did to a device."""

    links: list[str] = field(default_factory=list)
    group: str | None = None
    mode: str | None = None


def _glob(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(value, alt) for alt in pattern.split("|"))


def _test(token: Token, value: str | None) -> bool:
    hit = _glob(token.value, value)
    return hit if token.op == "==" else not hit


def _own_value(token: Token, dev: Dev, env: dict[str, str], action: str) -> str | None:
    if token.key == "ACTION":
        return action
    if token.key == "KERNEL":
        return dev.kernel
    if token.key == "SUBSYSTEM":
        return dev.subsystem
    if token.key == "DRIVER":
        return dev.driver
    if token.key == "ATTR":
        return dev.attrs.get(token.attr or "")
    if token.key == "ENV":
        return env.get(token.attr or "", "")
    raise AssertionError(f"the model does not know how to match {token.key}")


def _parent_value(token: Token, dev: Dev) -> str | None:
    if token.key == "KERNELS":
        return dev.kernel
    if token.key == "SUBSYSTEMS":
        return dev.subsystem
    if token.key == "DRIVERS":
        return dev.driver
    if token.key == "ATTRS":
        return dev.attrs.get(token.attr or "")
    raise AssertionError(f"the model does not know how to match {token.key}")


def _rule_matches(rule: Rule, chain: list[Dev], env: dict[str, str], action: str) -> bool:
    own = [t for t in rule.tokens if t.is_match and t.key not in PARENT_KEYS]
    parents = [t for t in rule.tokens if t.is_match and t.key in PARENT_KEYS]
    if not all(_test(t, _own_value(t, chain[0], env, action)) for t in own):
        return False
    # udev: all parent keys of one rule must match on one and the same device of the chain.
    return not parents or any(all(_test(t, _parent_value(t, d)) for t in parents) for d in chain)


def evaluate(rules: list[Rule], chain: list[Dev], action: str = "add") -> Outcome:
    """Run the rules on the first device of ``chain`` (the rest are its parents)."""
    env = dict(chain[0].env)
    outcome = Outcome()
    goto: str | None = None
    for rule in rules:
        if goto is not None:
            if goto in rule.values("LABEL"):
                goto = None
            continue
        if not _rule_matches(rule, chain, env, action):
            continue
        for t in rule.tokens:
            if t.is_match:
                continue
            if t.key == "SYMLINK":
                outcome.links += t.value.split()
            elif t.key == "GROUP":
                outcome.group = t.value
            elif t.key == "MODE":
                outcome.mode = t.value
            elif t.key == "ENV":
                env[t.attr or ""] = t.value
            elif t.key == "GOTO":
                goto = t.value
    return outcome


def usb_device(vendor: str, product: str, kernel: str = "1-1.3") -> Dev:
    """A USB device node (/dev/bus/usb/BBB/DDD)."""
    attrs = {"idVendor": vendor, "idProduct": product}
    return Dev("usb", kernel, attrs, {"DEVTYPE": "usb_device"}, driver="usb")


def usb_interface(driver: str, kernel: str = "1-1.3:1.0") -> Dev:
    """A USB interface, between a device and the class device its driver made."""
    return Dev("usb", kernel, {"bInterfaceNumber": "00"}, {"DEVTYPE": "usb_interface"}, driver)


ROOT_HUB = Dev("usb", "usb1", {"idVendor": "1d6b", "idProduct": "0002"}, {"DEVTYPE": "usb_device"})


def input_attrs(vendor: str, product: str, name: str, bus: str = "0003") -> dict[str, str]:
    """The attributes of an input device (/sys/class/input/inputN)."""
    return {"id/vendor": vendor, "id/product": product, "id/bustype": bus, "name": name}


def event_node(*, keyboard: bool, number: int = 5) -> Dev:
    """An event node with the properties the input_id builtin gives it."""
    env = {"ID_INPUT": "1", "ID_INPUT_KEY": "1"}
    if keyboard:
        env["ID_INPUT_KEYBOARD"] = "1"
    return Dev("input", f"event{number}", env=env)


def usb_hid_chain(vendor: str, product: str, *, keyboard: bool = True) -> list[Dev]:
    """A USB HID device's event node and its parents, as udevadm info -a walks them."""
    hid = f"0003:{vendor.upper()}:{product.upper()}.0001"
    return [
        event_node(keyboard=keyboard),
        Dev("input", "input5", input_attrs(vendor, product, "USB device")),
        Dev("hid", hid, driver="hid-generic"),
        usb_interface("usbhid"),
        usb_device(vendor, product),
        ROOT_HUB,
    ]


def uinput_chain(vendor: str, product: str, name: str, bus: str = "0003") -> list[Dev]:
    """A uinput device's event node: its input device is virtual, with no USB parent."""
    return [
        event_node(keyboard=True, number=9),
        Dev("input", "input9", input_attrs(vendor, product, name, bus)),
    ]


def usblp_chain(vendor: str, product: str) -> list[Dev]:
    """The usblp driver's /dev/usb/lp0 and its parents."""
    return [Dev("usbmisc", "lp0"), usb_interface("usblp"), usb_device(vendor, product), ROOT_HUB]


def usb_node_chain(vendor: str, product: str) -> list[Dev]:
    """A raw USB device node and its parent hub."""
    return [usb_device(vendor, product), ROOT_HUB]


# --- the rules file on its own -------------------------------------------------------------


def test_parser_rejects_what_udev_would_not_read() -> None:
    """The parser is strict enough to catch the usual slips."""
    with pytest.raises(RuleSyntaxError, match="line 1"):
        parse_rules('KERNEL=="event*" GROUP="input"\n')  # missing comma
    with pytest.raises(RuleSyntaxError, match="cannot read"):
        parse_rules("KERNEL=='event*', GROUP=\"input\"\n")  # single quotes
    with pytest.raises(RuleSyntaxError, match="continued line"):
        parse_rules('KERNEL=="event*", \\\n')
    assert check_token(Token("GROUP", None, "+=", "input")) is not None
    assert check_token(Token("KERNEL", None, "=", "event*")) is not None
    assert check_token(Token("ATTRS", None, "==", "05e0")) is not None
    assert check_token(Token("SUBSYSTEM", None, "==", "input")) is None


def test_every_rule_is_well_formed(rules: list[Rule]) -> None:
    """Known keys, operators allowed for each key, and a test plus an action per rule."""
    assert len(rules) > 40
    problems = [
        f"line {rule.line}: {problem}"
        for rule in rules
        for token in rule.tokens
        if (problem := check_token(token))
    ]
    for rule in rules:
        if rule.find("LABEL") is not None:
            continue
        if not any(t.is_match for t in rule.tokens):
            problems.append(f"line {rule.line}: no match key, so it applies to every device")
        if all(t.is_match for t in rule.tokens):
            problems.append(f"line {rule.line}: matches but assigns nothing")
    assert problems == []


def test_goto_targets_exist(rules: list[Rule]) -> None:
    """Every GOTO has its LABEL after it."""
    labels = {v: i for i, r in enumerate(rules) for v in r.values("LABEL")}
    for i, rule in enumerate(rules):
        for target in rule.values("GOTO"):
            assert labels.get(target, -1) > i, f"line {rule.line}: no LABEL {target!r} below"


def test_links_groups_and_modes(rules: list[Rule]) -> None:
    """Every link is under /dev/payterm/, every group one the service has, every mode 0660."""
    for rule in rules:
        for token in rule.tokens:
            if token.key == "SYMLINK":
                assert token.op == "+=", f"line {rule.line}: use SYMLINK+= to keep udev's links"
                assert set(token.value.split()) <= LINKS, f"line {rule.line}: {token.value}"
            if token.key == "GROUP":
                assert token.value in GROUPS, f"line {rule.line}: group {token.value}"
            if token.key == "MODE":
                assert token.value == "0660", f"line {rule.line}: mode {token.value}"
        if rule_symlinks(rule):
            assert rule.find("GROUP") is not None, f"line {rule.line}: a link without a group"


def test_ids_are_four_lowercase_hex_digits(rules: list[Rule]) -> None:
    """Vendor and product values are written as sysfs shows them."""
    ids = [(r.line, t.value) for r in rules for t in r.tokens if t.attr in ID_ATTRS]
    assert len(ids) > 40
    assert [(line, v) for line, v in ids if not HEX4.fullmatch(v)] == []


def test_input_rules_match_the_input_device_and_its_keyboard_node(rules: list[Rule]) -> None:
    """Scanner and keypad rules: the event node's keyboard, by the input device's own id."""
    input_rules = [r for r in rules if r.values("SUBSYSTEM") == ["input"] and rule_symlinks(r)]
    assert len(input_rules) > 10
    for rule in input_rules:
        where = f"line {rule.line}"
        assert set(rule_symlinks(rule)) <= {"payterm/scanner", "payterm/keypad"}, where
        assert rule.values("KERNEL") == ["event*"], where
        assert rule.values("ENV", "ID_INPUT_KEYBOARD") == ["1"], where
        assert rule.values("ATTRS", "id/vendor"), where
        # the USB device's idVendor is on another device of the chain: one rule cannot
        # match both, and a uinput device has no USB parent at all
        assert not rule.values("ATTRS", "idVendor"), where
        assert rule.values("GROUP") == ["input"], where


def test_usb_node_rules_match_the_usb_device_itself(rules: list[Rule]) -> None:
    """Raw USB rules name the device node, not each of its interfaces."""
    usb_rules = [r for r in rules if r.values("SUBSYSTEM") == ["usb"]]
    assert len(usb_rules) > 10
    for rule in usb_rules:
        where = f"line {rule.line}"
        assert rule.values("ENV", "DEVTYPE") == ["usb_device"], where
        assert rule.values("ATTR", "idVendor"), where
        assert rule.values("ATTR", "idProduct"), where
        links = set(rule_symlinks(rule))
        assert links in ({"payterm/printer-usb"}, {"payterm/nfc"}), where
        expected = "lp" if links == {"payterm/printer-usb"} else "plugdev"
        assert rule.values("GROUP") == [expected], where


def test_udevadm_verify_accepts_the_rules() -> None:
    """`udevadm verify` (systemd 253 and later) finds nothing wrong."""
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("udevadm is not installed here (Debian package udev)")
    probe = subprocess.run([udevadm, "verify", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        version = subprocess.run([udevadm, "--version"], capture_output=True, text=True)
        pytest.skip(f"udevadm {version.stdout.strip()} has no 'verify'; it needs systemd >= 253")
    out = subprocess.run(
        [udevadm, "verify", "--resolve-names=never", str(RULES_PATH)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


# --- the rules and the table agree ----------------------------------------------------------


def test_the_table_and_the_rules_list_the_same_models(rules: list[Rule], rows: list[Row]) -> None:
    """Each row has its rules and each rule with an id has its row."""
    assert len(rows) > 30
    documented: list[tuple[str, str, str | None]] = []
    for row in rows:
        documented.append((row.link, row.vendor, row.product))
        if row.link == "payterm/printer":
            documented.append(("payterm/printer-usb", row.vendor, row.product))
    in_rules: list[tuple[str, str, str | None]] = []
    for rule in rules:
        found = rule_id(rule)
        if found is not None:
            in_rules += [(link, *found) for link in rule_symlinks(rule)]
    assert len(documented) == len(set(documented)), "a row appears twice in the table"
    assert len(in_rules) == len(set(in_rules)), "two rules for one model"
    assert set(documented) - set(in_rules) == set(), "rows without a rule"
    assert set(in_rules) - set(documented) == set(), "rules without a row"


def test_every_documented_model_gets_its_name(rules: list[Rule], rows: list[Row]) -> None:
    """Run the rules on each row's device: it gets the documented name and nothing else."""
    for row in rows:
        product = row.product or "0b81"
        if row.link in ("payterm/scanner", "payterm/keypad"):
            got = evaluate(rules, usb_hid_chain(row.vendor, product))
            assert (got.links, got.group) == ([row.link], "input"), row.text
            spare = evaluate(rules, usb_hid_chain(row.vendor, product, keyboard=False))
            assert spare.links == [], f"a non-keyboard node got a name: {row.text}"
        elif row.link == "payterm/printer":
            lp = evaluate(rules, usblp_chain(row.vendor, product))
            assert (lp.links, lp.group, lp.mode) == (["payterm/printer"], "lp", "0660"), row.text
            raw = evaluate(rules, usb_node_chain(row.vendor, product))
            assert (raw.links, raw.group) == (["payterm/printer-usb"], "lp"), row.text
            iface = evaluate(rules, [usb_interface("usblp"), *usb_node_chain(row.vendor, product)])
            assert iface.links == [], f"a USB interface got a name: {row.text}"
        elif row.link == "payterm/nfc":
            got = evaluate(rules, usb_node_chain(row.vendor, product))
            assert (got.links, got.group, got.mode) == (["payterm/nfc"], "plugdev", "0660")
        else:
            pytest.fail(f"unexpected link in {row.text}")


def test_no_vendor_serves_two_parts(rows: list[Row]) -> None:
    """A whole-vendor scanner rule would swallow a keypad of that vendor."""
    whole = {r.vendor for r in rows if r.product is None}
    input_rows = [r for r in rows if r.link in ("payterm/scanner", "payterm/keypad")]
    assert whole, "expected whole-vendor rows for scanner makers"
    assert [r.text for r in input_rows if r.product is not None and r.vendor in whole] == []


def test_doc_says_where_the_rules_go_and_how_to_check(doc_text: str) -> None:
    """The technician's steps are in the doc."""
    for needle in (
        "/etc/udev/rules.d/60-payterm.rules",
        "udevadm info -a /dev/input/event",
        "lsusb",
        "udevadm control --reload && sudo udevadm trigger",
        "ls -l /dev/payterm/",
    ):
        assert needle in doc_text, needle


# --- devices as the terminal meets them -----------------------------------------------------


def test_boot_test_virtual_devices_get_their_names(rules: list[Rule], doc_text: str) -> None:
    """The uinput scanner and keypad the doc specifies are named by the same rules."""
    devices = doc_virtual_devices(doc_text)
    assert {d.link for d in devices} == {"payterm/scanner", "payterm/keypad"}
    for device in devices:
        got = evaluate(
            rules, uinput_chain(device.vendor, device.product, device.name, device.bustype)
        )
        assert (got.links, got.group, got.mode) == ([device.link], "input", "0660")


def test_scanner_and_keypad_plugged_together(rules: list[Rule]) -> None:
    """Each gets its own name; their consumer-control nodes get none."""
    scanner = evaluate(rules, usb_hid_chain("05e0", "1200"))
    keypad = evaluate(rules, usb_hid_chain("05a4", "9837"))
    assert scanner.links == ["payterm/scanner"]
    assert keypad.links == ["payterm/keypad"]
    assert evaluate(rules, usb_hid_chain("05e0", "1200", keyboard=False)).links == []


def test_unknown_devices_are_left_alone(rules: list[Rule]) -> None:
    """A keyboard, a printer or a reader not in the table gets no name and no group."""
    for chain in (
        usb_hid_chain("046d", "c31c"),
        uinput_chain("0001", "0001", "py-evdev-uinput"),
        usblp_chain("03f0", "0517"),
        usb_node_chain("0781", "5567"),
        # an id in the table, on the wrong kind of node: a printer's id on an input device
        usb_hid_chain("0416", "5011"),
    ):
        got = evaluate(rules, chain)
        assert (got.links, got.group, got.mode) == ([], None, None), chain[0]


def test_pn532_uart_on_the_pi_but_not_the_emulators_console(rules: list[Rule]) -> None:
    """ttyAMA0 is the PN532's UART on a Pi 3/4 and the console under qemu -M virt."""
    for platform in ("3f201000.serial", "fe201000.serial"):
        pi = evaluate(rules, [Dev("tty", "ttyAMA0"), Dev("amba", platform, driver="uart-pl011")])
        assert (pi.links, pi.group, pi.mode) == (["payterm/nfc"], "dialout", "0660")
    virt = evaluate(rules, [Dev("tty", "ttyAMA0"), Dev("amba", "9000000.pl011")])
    assert virt.links == []
    usb_serial = evaluate(
        rules, [Dev("tty", "ttyUSB0"), usb_interface("ch341"), usb_device("1a86", "7523")]
    )
    assert usb_serial.links == []


@pytest.mark.parametrize(
    ("chain", "group"),
    [
        ([Dev("gpio", "gpiochip0"), Dev("platform", "fe200000.gpio")], "gpio"),
        ([Dev("gpio", "gpiochip4"), Dev("platform", "1f000d0000.gpio")], "gpio"),
        ([Dev("i2c-dev", "i2c-1"), Dev("i2c", "i2c-1")], "i2c"),
        ([Dev("spidev", "spidev0.0"), Dev("spi", "spi0.0")], "spi"),
    ],
)
def test_gpio_i2c_spi_groups(rules: list[Rule], chain: list[Dev], group: str) -> None:
    """Plain Debian leaves these to root; the rules give them to the service's groups."""
    got = evaluate(rules, chain)
    assert (got.links, got.group, got.mode) == ([], group, "0660")


def test_remove_events_are_skipped(rules: list[Rule]) -> None:
    """Nothing is assigned when a device goes away."""
    got = evaluate(rules, usb_hid_chain("05e0", "1200"), action="remove")
    assert (got.links, got.group) == ([], None)
