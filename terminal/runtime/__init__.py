"""The runtime: the one asyncio loop that feeds events to the machine and carries out its effects.

``runtime`` holds the loop itself and dispatches each effect to the module that carries
out its kind: ``journaling`` (records and look-ups), ``provider_calls``, ``printing``,
``screen`` (the display and the signals), ``timers`` and ``reconciliation``; ``inputs``
turns the parts' input into events and ``observers`` tells who listens what happened.
"""
