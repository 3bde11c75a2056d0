"""The USB scanner and keypad on evdev, and the key maps that turn their events into text."""
