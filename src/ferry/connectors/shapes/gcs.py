"""The fields a Google Cloud Storage source and destination share."""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.config import GcpServiceAccountRole, GcsHmacKeys, Selectors, VendorConfig
from ferry.fields import Short


class GcsConnection(VendorConfig):
    """A GCS bucket, reached by impersonating a service account or with HMAC keys."""

    selectors: ClassVar[Selectors] = {
        "auth_method": {
            "gcp_service_account_role": "gcp_service_account_role",
            "gcs_hmac_keys": "gcs_hmac_keys",
        }
    }

    bucket_name: Short
    auth_method: Literal["gcp_service_account_role", "gcs_hmac_keys"]
    gcp_service_account_role: GcpServiceAccountRole | None = None
    gcs_hmac_keys: GcsHmacKeys | None = None
