"""The fields a BigQuery source and destination share."""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.config import (
    FederatedGcpServiceAccountRole,
    GcpServiceAccountKey,
    GcpServiceAccountRole,
    Selectors,
    VendorConfig,
)
from ferry.fields import Short


class BigQueryConnection(VendorConfig):
    """A Google Cloud project, reached as a service account."""

    selectors: ClassVar[Selectors] = {
        "auth_method": {
            "gcp_service_account_role": "gcp_service_account_role",
            "gcp_service_account_key": "gcp_service_account_key",
            "federated_gcp_service_account_role": "federated_gcp_service_account_role",
        }
    }

    project_id: Short
    auth_method: Literal[
        "gcp_service_account_role", "gcp_service_account_key", "federated_gcp_service_account_role"
    ]
    gcp_service_account_role: GcpServiceAccountRole | None = None
    gcp_service_account_key: GcpServiceAccountKey | None = None
    federated_gcp_service_account_role: FederatedGcpServiceAccountRole | None = None
