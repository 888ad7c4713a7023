"""Text and JSON from devices and tools -> model objects.

Every parser is pure (no I/O) and raises exactly one error type,
`ParseError`, for any input it cannot understand: callers catch that one and
show its message; nothing else may escape (the fuzz tests hold them to it).
"""


class ParseError(ValueError):
    """Input could not be parsed; the message says what and where."""
