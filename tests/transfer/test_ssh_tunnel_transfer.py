"""A transfer whose source and destination are both reached through an SSH bastion (a real
OpenSSH daemon), with a key pair Ferry made and the recipient authorized."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ferry.connectors import ssh
from tests.conftest import Api
from tests.connectors.servers import require_sshd, sshd_server
from tests.transfer.conftest import Database, destination_slice, order_model, source_slice


def test_a_transfer_through_ssh_tunnels(
    api: Api,
    source_db: Database,
    dest_db: Database,
    run_transfer: Callable[..., dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    require_sshd()
    with sshd_server(tmp_path_factory.mktemp("bastion")) as bastion:
        key = api.ok("POST", "/actions/generate-ssh-key")["public_key"]
        bastion.authorized_keys.write_text(bastion.authorized_keys.read_text() + key + "\n")
        tunnel = {
            "use_ssh_tunnel": True,
            "ssh_tunnel": {
                "ssh_tunnel_host": "127.0.0.1",
                "ssh_tunnel_port": bastion.port,
                "ssh_tunnel_username": bastion.username,
                "ssh_public_key": key,
            },
        }
        source = {"vendor": "postgres", "name": "app", "postgres": source_db.config() | tunnel}
        source["postgres"]["schema"] = "public"
        api.ok("POST", "/sources", json={"source": source})
        api.ok("POST", "/models", json=order_model())  # validated on the source, via the bastion
        recipient = api.ok(
            "POST",
            "/recipients",
            json={"recipient": {"name": "Acme", "id_in_provider_system": "acme"}},
        )["recipient"]
        destination = api.ok(
            "POST",
            "/destinations",
            json={
                "destination": {
                    "vendor": "postgres",
                    "name": "acme behind a bastion",
                    "recipient_id": recipient["id"],
                    "postgres": dest_db.config(schema="out_acme") | tunnel,
                }
            },
        )["destination"]
        done = run_transfer(api, destination["id"])
        assert done["status"] == "SUCCESS", done
        assert done["rows_transferred"] > 0
        assert destination_slice(dest_db, "out_acme") == source_slice(source_db, "acme")
    ssh.close_all()
