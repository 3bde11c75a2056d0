"""The pure payment machine: states, events, effects and the one transition function."""

from terminal.machine.effects import (
    Alert,
    CallProvider,
    CancelTimer,
    Effect,
    PrintSlip,
    RecordPayment,
    StartTimer,
)
from terminal.machine.events import (
    BadgeTapped,
    ButtonPressed,
    CodeScanned,
    Event,
    InDoubtFound,
    JournalFailed,
    KeyPressed,
    PartReported,
    PrinterReported,
    ProviderAnswered,
    ProviderFailed,
    ReconcileAnswered,
    TimerFired,
)
from terminal.machine.machine import TABLE, Step, order_of, step
from terminal.machine.states import Now, Phase, Settings, State

__all__ = [
    "Alert",
    "BadgeTapped",
    "ButtonPressed",
    "CallProvider",
    "CancelTimer",
    "CodeScanned",
    "Effect",
    "Event",
    "InDoubtFound",
    "JournalFailed",
    "KeyPressed",
    "Now",
    "Phase",
    "PrintSlip",
    "PartReported",
    "PrinterReported",
    "ProviderAnswered",
    "ProviderFailed",
    "ReconcileAnswered",
    "RecordPayment",
    "Settings",
    "StartTimer",
    "State",
    "Step",
    "TABLE",
    "TimerFired",
    "order_of",
    "step",
]
