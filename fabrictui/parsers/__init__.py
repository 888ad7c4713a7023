"""Text and JSON from devices and tools -> model objects.

Every parser is pure (no I/O) and raises exactly one error type,
`ParseError`, for any input it cannot understand: callers catch that one and
show its message; nothing else may escape (the fuzz tests hold them to it).
"""

from typing import Any


class ParseError(ValueError):
    """Input could not be parsed; the message says what and where."""


def json_bool(obj: dict[str, Any], key: str, what: str) -> bool:
    """`obj[key]` as a JSON true/false (False when absent); anything else is a ParseError
    naming `what` and the key."""
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise ParseError(f"{what}: {key} is {type(value).__name__}, not true/false")
    return value


def json_map(value: Any, what: str) -> dict[str, Any]:
    """`value` as a JSON object ({} when absent); anything else is a ParseError naming `what`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParseError(f"{what}: {type(value).__name__}, not an object")
    return value


def json_list(value: Any, what: str) -> list[Any]:
    """`value` as a JSON array ([] when absent); anything else is a ParseError naming `what`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParseError(f"{what}: {type(value).__name__}, not a list")
    return value
