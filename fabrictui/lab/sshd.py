"""One OpenSSH sshd per lab host on 127.0.0.1:PORT, every session inside the host's namespace.

sshd itself runs in the host's namespace (it must listen on 127.0.0.1 there); its
`ForceCommand` is a small generated wrapper that runs the requested command (or an
interactive shell) with `ip netns exec <netns>`, with the host's shims first in PATH:
`sudo` (the session is root already), and on switches `vtysh` (pointed at the switch's FRR
instance) and `net` (NCLU's `net show bgp summary [json]`). As with a Vagrant VM's forwarded
port, what runs is inside the machine.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fabrictui.lab.bird import birdcl_shim

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"
PRIVSEP_DIR = Path("/run/sshd")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_SESSIONS = 30


class SshdError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class SshEntry:
    """One `Host` block of the lab's ssh_config."""

    name: str
    port: int
    identity_file: Path
    known_hosts: Path


def keygen(path: Path, comment: str) -> Path:
    """An ed25519 key pair at path / path.pub (no passphrase)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    done = subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SshdError(f"ssh-keygen failed for {path}: {done.stderr.strip()}")
    return path


def public_key(private: Path) -> str:
    return Path(f"{private}.pub").read_text().strip()


def render_sshd_config(
    port: int,
    host_key: Path,
    authorized_keys: Path,
    pid_file: Path,
    force_command: Path,
    home: Path | None = None,
) -> str:
    # HOME points at the host's own (empty) folder: the login shell that runs ForceCommand
    # then skips the machine's ~/.bashrc, which costs ~200 ms per command with pyenv & co.
    extra = [f"SetEnv HOME={home}"] if home is not None else []
    return "\n".join(
        [
            "# fabrictui rehearsal lab: one sshd per lab host, loopback only",
            f"ListenAddress 127.0.0.1:{port}",
            f"HostKey {host_key}",
            f"PidFile {pid_file}",
            f"AuthorizedKeysFile {authorized_keys}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowAgentForwarding no",
            "AllowTcpForwarding no",
            "PermitTunnel no",
            f"MaxSessions {MAX_SESSIONS}",
            "MaxStartups 100:30:200",
            "LogLevel INFO",
            *extra,
            f"ForceCommand {shlex.quote(str(force_command))}",
            "",
        ]
    )


def sshd_argv(config: Path) -> list[str]:
    return [SSHD, "-D", "-e", "-f", str(config)]


def render_ssh_config(entries: Iterable[SshEntry]) -> str:
    """The same shape `vagrant ssh-config` prints, one block per host."""
    blocks = []
    for entry in entries:
        blocks.append(
            "\n".join(
                [
                    f"Host {entry.name}",
                    "  HostName 127.0.0.1",
                    "  User root",
                    f"  Port {entry.port}",
                    f"  UserKnownHostsFile {entry.known_hosts}",
                    "  StrictHostKeyChecking yes",
                    "  PasswordAuthentication no",
                    f"  IdentityFile {entry.identity_file}",
                    "  IdentitiesOnly yes",
                    "  LogLevel ERROR",
                ]
            )
        )
    return "\n\n".join(blocks) + "\n"


def known_hosts_line(port: int, host_public_key: str) -> str:
    keytype, blob = host_public_key.split()[:2]
    return f"[127.0.0.1]:{port} {keytype} {blob}"


# --- shims --------------------------------------------------------------------------------

SUDO_SHIM = """#!/bin/sh
# fabrictui rehearsal lab: sudo stand-in. The lab session is root already, so run the
# command as is (a few common sudo options are accepted and ignored).
while [ $# -gt 0 ]; do
    case "$1" in
        -n|-E|-H|-S|-k|--non-interactive|--preserve-env|--preserve-env=*) shift ;;
        -u|-g) shift 2 ;;
        -i|-s) shift; [ $# -eq 0 ] && exec /bin/bash -i ;;
        --) shift; break ;;
        *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "usage: sudo command [args...]" >&2
    exit 1
fi
exec "$@"
"""


CRICTL_BOOT = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from fabrictui.lab.crictl import main; sys.exit(main(sys.argv[1:]))"
)
# What a bare node (the seed's fresh CentOS 7 box) lacks of the build machine's programs;
# and its package managers: a lab node shares the build machine's files, so installing
# "on the node" would install on the build machine.
BARE_NODE_LACKS = frozenset({"tcpdump", "apt", "apt-get", "dpkg", "yum", "dnf", "rpm", "zypper"})
NCLU_BOOT = (
    "import sys; sys.path.insert(0, {root!r}); "
    "from fabrictui.lab.nclu import main; sys.exit(main(sys.argv[1:]))"
)


def _package_root() -> str:
    import fabrictui

    return str(Path(fabrictui.__file__).resolve().parent.parent)


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def install_shims(
    bin_dir: Path,
    host: str,
    netns: str,
    frr_pathspace: str | None,
    frr_config_dir: str = "/var/run/frr",
    python: str = sys.executable,
    sandboxes: Path | None = None,
    bare: bool = False,
) -> Path:
    """Write DIR/bin/<host>/{sudo,vtysh,net,bashrc,session}; returns the session wrapper.
    A node gets `birdcl`, and `crictl` over the kubelet's `sandboxes` file; a `bare` one
    runs with a PATH that lacks BARE_NODE_LACKS."""
    directory = bin_dir / host
    directory.mkdir(parents=True, exist_ok=True)
    _script(directory / "sudo", SUDO_SHIM)
    q = shlex.quote
    if frr_pathspace is not None:
        _script(
            directory / "vtysh",
            "#!/bin/sh\n# fabrictui rehearsal lab: vtysh of this switch's FRR instance\n"
            f"exec /usr/bin/vtysh -N {q(frr_pathspace)} --config_dir {q(frr_config_dir)} "
            '"$@"\n',
        )
        _script(
            directory / "net",
            "#!/bin/sh\n# fabrictui rehearsal lab: NCLU stand-in (net show bgp summary [json])\n"
            # -S -E: skip site and env (the shim runs on every poll), find fabrictui directly
            f"exec {q(python)} -S -E -c {q(NCLU_BOOT.format(root=_package_root()))} "
            f'--pathspace {q(frr_pathspace)} --config-dir {q(frr_config_dir)} "$@"\n',
        )
    else:  # a node: calico-node's BIRD client, on the node's BIRD (BGP mode)
        _script(directory / "birdcl", birdcl_shim(netns))
        if sandboxes is not None:
            _script(
                directory / "crictl",
                "#!/bin/sh\n# fabrictui rehearsal lab: crictl over the lab kubelet's sandboxes\n"
                f"exec {q(python)} -S -E -c {q(CRICTL_BOOT.format(root=_package_root()))} "
                f'--state {q(str(sandboxes))} "$@"\n',
            )
    system_path = bare_path(bin_dir) if bare else SYSTEM_PATH
    path_value = f"{directory}:{system_path}"
    prompt = "root@" + host + r":\w# "
    (directory / "bashrc").write_text(
        f"export PATH={q(path_value)}\nexport FTL_LAB_HOST={q(host)}\nPS1={q(prompt)}\n"
    )
    session = directory / "session"
    # unshare --uts gives the session its own hostname, so `hostname` says `leaf1` as on a VM
    named = f"ip netns exec {q(netns)} unshare --uts /bin/sh -c"
    _script(
        session,
        "#!/bin/sh\n"
        f"# fabrictui rehearsal lab: every SSH session of {host} runs inside {netns}\n"
        f"PATH={q(path_value)}\nexport PATH\n"
        f"FTL_LAB_HOST={q(host)}\nexport FTL_LAB_HOST\n"
        'if [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then\n'
        f"    exec {named} "
        """'hostname "$0" && exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"' """
        f"{q(host)}\n"
        "fi\n"
        f"exec {named} "
        """'hostname "$0" && exec /bin/bash --rcfile "$1" -i' """
        f"{q(host)} {q(str(directory / 'bashrc'))}\n",
    )
    return session


def banner_answers(port: int, timeout: float) -> bool:
    """Whether the sshd on 127.0.0.1:`port` sends its banner within `timeout`: a running
    sshd that is stopped (SIGSTOP) or behind a black hole accepts and never does."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def bare_path(bin_dir: Path) -> str:
    """One folder of links to every program of the system PATH but BARE_NODE_LACKS (made
    once per lab): a bare node's `tcpdump` is then not found, in its shell's own words."""
    folder = bin_dir / "_bare"
    if not folder.exists():
        folder.mkdir(parents=True)
        for directory in SYSTEM_PATH.split(":"):
            root = Path(directory)
            if not root.is_dir():
                continue
            for program in sorted(root.iterdir()):
                link = folder / program.name
                if program.name in BARE_NODE_LACKS or link.exists() or link.is_symlink():
                    continue
                link.symlink_to(program)
    return str(folder)
