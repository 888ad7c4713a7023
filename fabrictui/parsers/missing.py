"""Recognise "this program is not installed" in what a runtime, a shell or sudo printed.

A probe or a capture whose program is missing never ran: it says nothing about the
network. The wordings (tests/data/not_found/messages.json keeps each with its source):

- runc, as Docker, containerd and CRI-O pass it on: `exec: "ping": executable file not
  found in $PATH` (quotes backslash-escaped when nested in another message), or for an
  absolute path `exec: "/bin/bash": stat /bin/bash: no such file or directory`;
- crun: ``executable file `ping` not found in $PATH``;
- shells and sudo: `sh: 1: ping: not found` (dash), `sh: ping: not found` (busybox),
  `bash: ping: command not found`, `bash: line 1: ping: command not found`,
  `sudo: tcpdump: command not found`, the exec builtin's `bash: exec: tcpdump: not
  found`; busybox env: `env: can't execute 'ping'`.
"""

from __future__ import annotations

import re

__all__ = ["missing_program"]

# A program name as these messages print it: no quotes, spaces or colons.
_NAME = r"[^\s\"'`\\:]{1,200}"
_PATTERNS = (
    # runc: the name inside exec: "..." (plain or with escaped quotes)
    re.compile(rf'exec: \\*"(?P<name>{_NAME})\\*": executable file not found'),
    re.compile(rf'exec: \\*"(?P<name>{_NAME})\\*": stat \S+: no such file or directory'),
    # crun
    re.compile(rf"executable file `(?P<name>{_NAME})` not found"),
    # shells and sudo, at the start of a line
    re.compile(
        r"(?m)^(?:\S+: )?(?:line \d+: |\d+: )?(?:exec: )?"
        rf"(?P<name>{_NAME}): (?:command )?not found\s*$"
    ),
    re.compile(rf"can't execute '(?P<name>{_NAME})': No such file or directory"),
)


def missing_program(*texts: str | None) -> str | None:
    """The program that could not be found, from any of `texts` (stdout, stderr, the exec's
    status message), or None when none of them says a program is missing."""
    for text in texts:
        if not text:
            continue
        for pattern in _PATTERNS:
            found = pattern.search(text[:20_000])
            if found:
                return found.group("name")
    return None
