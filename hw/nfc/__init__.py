"""NFC on nfcpy: supervisor badges, and the SBP link written to or offered as a tag."""
