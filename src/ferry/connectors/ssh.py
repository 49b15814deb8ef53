"""SSH: Ferry's key pairs, and tunnels that reach a database through a bastion host.

A PostgreSQL or MySQL source or destination with ``use_ssh_tunnel`` is reached through the SSH
server named in ``ssh_tunnel`` (``ssh_tunnel_host``, ``ssh_tunnel_port``,
``ssh_tunnel_username``), logging in with the key pair whose public half is
``ssh_public_key``: one Ferry made (``POST /actions/generate-ssh-key``), whose private half only
Ferry holds. The recipient authorizes that public key for the user on the bastion and lets the
bastion reach the database's ``host`` and ``port``, which are then names as the bastion sees
them (often a private address).

Each worker process keeps one SSH session per bastion, user, key and database address, and
forwards a port on its own loopback interface (127.0.0.1, a free port) to the database through
it; the database driver connects to that port, so SSL to the database and the pooling of
connections work as without a tunnel. The session is opened on first use, checked before each
use and opened again when it broke. The forwarded port accepts connections from the Ferry host
only, and the database still asks for its own login.

Host keys (bastions and SFTP servers alike): the API shapes carry no host key, so the key a
server presents is accepted without being pinned. The session is encrypted and the server proves
it holds that key, but an active man in the middle on the path to it would not be detected.

Errors: the bastion rejects the key ``PRQL-AUTH``; its name does not resolve ``PRQL-HOST``;
it refuses or does not answer ``PRQL-REFUSED`` (retryable); it cannot reach the database
``PRQL-SSH`` (retryable); no usable private key ``PRQL-KEY``.
"""

from __future__ import annotations

import hashlib
import io
import select
import socket
import threading
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ferry.connectors.base import ConnectorContext
from ferry.errors import ConnectorError

if TYPE_CHECKING:
    import paramiko

CONNECT_TIMEOUT_SECONDS = 15
KEEPALIVE_SECONDS = 30
_CHUNK = 64 * 1024


def _private_pem(public: str, context: ConnectorContext) -> str:
    keys = context.private_keys
    # Ferry files keys by type and key material; the comment after them may differ.
    pem = keys.get(public.strip()) or keys.get(" ".join(public.split()[:2]))
    if not pem:
        raise ConnectorError(
            "Ferry holds no private key for the configured public key; generate a key pair "
            "with POST /actions/generate-ssh-key and authorize its public key on the server",
            error_code="PRQL-KEY",
            title="SSH key not found",
            blame="first_party",
        )
    return pem


def private_key(public: str, context: ConnectorContext) -> paramiko.PKey:
    """The private half of a key pair Ferry made, for its public half."""
    return _parsed(_private_pem(public, context))


def _parsed(pem: str) -> paramiko.PKey:
    import paramiko

    for kind in (paramiko.RSAKey, paramiko.Ed25519Key, paramiko.ECDSAKey):
        try:
            return kind.from_private_key(io.StringIO(pem))
        except (paramiko.SSHException, ValueError):
            continue
    raise ConnectorError(
        "the private key Ferry holds for the configured public key cannot be read",
        error_code="PRQL-KEY",
        title="SSH key unreadable",
        blame="host",
    )


def address(values: Mapping[str, Any], context: ConnectorContext) -> tuple[str, int]:
    """Where the database driver connects for a config's ``host`` and ``port``: those, or the
    local end of a tunnel through the configured bastion."""
    host, port = str(values["host"]), int(values["port"])
    if not values.get("use_ssh_tunnel"):
        return host, port
    tunnel = values.get("ssh_tunnel") or {}
    public = str(tunnel.get("ssh_public_key") or "")
    if not tunnel.get("ssh_tunnel_host") or not tunnel.get("ssh_tunnel_username"):
        raise ConnectorError(
            "use_ssh_tunnel is on but ssh_tunnel names no ssh_tunnel_host and ssh_tunnel_username",
            error_code="PRQL-SSH",
            title="SSH tunnel incomplete",
            blame="first_party",
        )
    if not public:
        raise ConnectorError(
            "use_ssh_tunnel is on but ssh_tunnel has no ssh_public_key; generate a key pair "
            "with POST /actions/generate-ssh-key and authorize its public key on the bastion",
            error_code="PRQL-KEY",
            title="SSH key not found",
            blame="first_party",
        )
    bastion = Bastion(
        str(tunnel["ssh_tunnel_host"]),
        int(tunnel.get("ssh_tunnel_port") or 22),
        str(tunnel["ssh_tunnel_username"]),
    )
    return "127.0.0.1", _TUNNELS.port(bastion, public, context, (host, port))


@dataclass(frozen=True, slots=True)
class Bastion:
    """The SSH server a tunnel goes through, and the user it logs in as."""

    host: str
    port: int
    username: str

    def __str__(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"


class _Tunnel:
    """One SSH session and a loopback port forwarded through it to one database address."""

    def __init__(self, client: paramiko.SSHClient, target: tuple[str, int]) -> None:
        self._client = client
        self._target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name="ferry-ssh-tunnel", daemon=True).start()

    def alive(self) -> bool:
        transport = self._client.get_transport()
        return not self._closed and transport is not None and transport.is_active()

    def open_channel(self, origin: tuple[str, int]) -> paramiko.Channel:
        transport = self._client.get_transport()
        if transport is None:
            raise EOFError("the SSH session is closed")
        return transport.open_channel("direct-tcpip", self._target, origin)

    def close(self) -> None:
        self._closed = True
        with suppress(OSError):
            self._listener.close()
        self._client.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                local, origin = self._listener.accept()
            except OSError:
                return
            try:
                channel = self.open_channel(origin)
            except Exception:  # the driver sees a closed connection and says so
                local.close()
                continue
            threading.Thread(
                target=_pump, args=(local, channel), name="ferry-ssh-forward", daemon=True
            ).start()


def _pump(local: socket.socket, channel: paramiko.Channel) -> None:
    """Copy bytes both ways until either side closes."""
    ends: list[Any] = [local, channel]  # a paramiko channel has a fileno() for select
    try:
        while True:
            readable, _, _ = select.select(ends, [], [])
            if local in readable:
                data = local.recv(_CHUNK)
                if not data:
                    return
                channel.sendall(data)
            if channel in readable:
                data = channel.recv(_CHUNK)
                if not data:
                    return
                local.sendall(data)
    except (OSError, EOFError):
        return
    finally:
        channel.close()
        local.close()


class _Tunnels:
    """The process's tunnels, by bastion, user, key and database address.

    Opening one holds a lock of that tunnel's own: a bastion slow to answer (up to the connect
    timeout) holds up only the connections that need it.
    """

    def __init__(self) -> None:
        self._open: dict[tuple[Bastion, str, tuple[str, int]], _Tunnel] = {}
        self._opening: dict[tuple[Bastion, str, tuple[str, int]], threading.Lock] = {}
        self._lock = threading.Lock()

    def port(
        self,
        bastion: Bastion,
        public: str,
        context: ConnectorContext,
        target: tuple[str, int],
    ) -> int:
        # Only a caller that holds the private key may use a tunnel opened with it.
        pem = _private_pem(public, context)
        fingerprint = hashlib.sha256(pem.encode()).hexdigest()
        key = (bastion, fingerprint, target)
        with self._lock:
            tunnel = self._open.get(key)
            if tunnel is not None and tunnel.alive():
                return tunnel.port
            opening = self._opening.setdefault(key, threading.Lock())
        with opening:
            with self._lock:
                tunnel = self._open.get(key)
                if tunnel is not None and tunnel.alive():
                    # Opened by another thread meanwhile.
                    return tunnel.port
                stale = self._open.pop(key, None)
            if stale is not None:
                stale.close()
            tunnel = _open(bastion, _parsed(pem), target)
            with self._lock:
                self._open[key] = tunnel
            return tunnel.port

    def close_all(self) -> None:
        with self._lock:
            tunnels, self._open = list(self._open.values()), {}
        for tunnel in tunnels:
            tunnel.close()


_TUNNELS = _Tunnels()
close_all = _TUNNELS.close_all


def login(host: str, port: int, username: str, key: paramiko.PKey) -> paramiko.SSHClient:
    """An SSH session logged in with a key; raises paramiko's or the socket's error."""
    import paramiko

    client = paramiko.SSHClient()
    # No host key can be pinned: the API shapes carry none (see the module's docstring).
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507
    try:
        client.connect(
            host,
            port=port,
            username=username,
            pkey=key,
            look_for_keys=False,
            allow_agent=False,
            timeout=CONNECT_TIMEOUT_SECONDS,
            banner_timeout=CONNECT_TIMEOUT_SECONDS,
            auth_timeout=CONNECT_TIMEOUT_SECONDS,
            channel_timeout=CONNECT_TIMEOUT_SECONDS,
        )
    except BaseException:
        client.close()
        raise
    return client


def _open(bastion: Bastion, key: paramiko.PKey, target: tuple[str, int]) -> _Tunnel:
    import paramiko

    try:
        client = login(bastion.host, bastion.port, bastion.username, key)
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise login_error(exc, bastion.host, bastion.port, bastion.username) or ConnectorError(
            f"the SSH session with {bastion} failed: {exc}",
            error_code="PRQL-SSH",
            title="SSH tunnel failed",
            blame="third_party",
            trace=f"{type(exc).__name__}: {exc}",
            retryable=True,
        ) from None
    transport = client.get_transport()
    if transport is not None:
        transport.set_keepalive(KEEPALIVE_SECONDS)
    tunnel = _Tunnel(client, target)
    # Reach the database once now: a bastion that cannot is named here, not as a connection
    # the database driver saw closed.
    try:
        tunnel.open_channel(("127.0.0.1", tunnel.port)).close()
    except (OSError, EOFError, paramiko.SSHException) as exc:
        tunnel.close()
        raise ConnectorError(
            f"the SSH server {bastion} could not reach {target[0]}:{target[1]}; the database's "
            "host and port must be reachable from the bastion",
            error_code="PRQL-SSH",
            title="SSH tunnel cannot reach the database",
            blame="third_party",
            trace=f"{type(exc).__name__}: {exc}",
            retryable=True,
        ) from None
    return tunnel


def login_error(exc: BaseException, host: str, port: int, username: str) -> ConnectorError | None:
    """A user-facing error for a failed SSH login (the raw text goes to ``trace``), or None
    when the failure is not one of these."""
    import paramiko
    from paramiko.ssh_exception import NoValidConnectionsError

    raw = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, paramiko.AuthenticationException):
        return ConnectorError(
            f"the SSH server {host}:{port} rejected the key for user {username!r}; authorize "
            "the public key in that user's authorized_keys",
            error_code="PRQL-AUTH",
            title="Authentication failed",
            blame="third_party",
            trace=raw,
        )
    if isinstance(exc, socket.gaierror):
        return ConnectorError(
            f"the host name {host!r} could not be resolved",
            error_code="PRQL-HOST",
            title="Unknown host",
            blame="first_party",
            trace=raw,
        )
    if isinstance(exc, NoValidConnectionsError | ConnectionRefusedError | TimeoutError):
        return ConnectorError(
            f"could not connect to the SSH server {host}:{port}: the connection was refused "
            "or timed out",
            error_code="PRQL-REFUSED",
            title="Connection refused",
            blame="third_party",
            trace=raw,
            retryable=True,
        )
    return None
