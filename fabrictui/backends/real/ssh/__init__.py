"""SSH to lab hosts with asyncssh: one persistent connection per host.

`SshPool` keeps one connection per host and runs every command of that host
as a channel on it (a few milliseconds a command instead of a new `ssh`
process each time). Per host it caps concurrent channels below OpenSSH's
`MaxSessions`, retries channel opens the server refused, reconnects after a
failure with a capped exponential backoff, and fails fast while a host is
known to be down, so one dead host never delays the others.

Host keys are checked against known_hosts (the lab's file, or
~/.ssh/known_hosts). The one exception is explicit: a target read from
`vagrant ssh-config` that says `StrictHostKeyChecking no` for a forward on
127.0.0.1/::1 (Vagrant's own port forward to a VM it created and whose key it
regenerates on every rebuild) connects without a host key check, and the pool
logs that once for that target. Unknown or changed keys raise `HostKeyError`
whose message is the exact command that accepts the key.

Error messages are one line and never carry key material or passwords: the
pool never uses passwords, and only names identity files by path.

Modules: `target` (SshTarget, `--jump` specs), `config` (ssh_config text ->
targets, through the one ssh_config parser), `hostkeys` (refusals that say how
to accept a key), `process` (command results and streams), `pool` (SshPool).
The names below are the package's interface; import them from here.
"""

from fabrictui.backends.real.ssh.config import targets_from_ssh_config
from fabrictui.backends.real.ssh.hostkeys import HostKeyError
from fabrictui.backends.real.ssh.pool import SshPool
from fabrictui.backends.real.ssh.process import CommandResult, RemoteProcess
from fabrictui.backends.real.ssh.target import (
    DEFAULT_KNOWN_HOSTS,
    LOOPBACK_ADDRESSES,
    SshTarget,
    parse_jump,
)

__all__ = [
    "DEFAULT_KNOWN_HOSTS",
    "LOOPBACK_ADDRESSES",
    "CommandResult",
    "HostKeyError",
    "RemoteProcess",
    "SshPool",
    "SshTarget",
    "parse_jump",
    "targets_from_ssh_config",
]
