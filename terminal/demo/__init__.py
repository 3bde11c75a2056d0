"""The terminal on the emulated device: the interactive demo and the scripted headless mode."""
