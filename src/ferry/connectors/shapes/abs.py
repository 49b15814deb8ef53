"""The fields an Azure Blob Storage source and destination share."""

from __future__ import annotations

from typing import ClassVar, Literal

from ferry.connectors.config import AzureSharedAccessSignature, Selectors, VendorConfig
from ferry.fields import Short


class AbsConnection(VendorConfig):
    """An Azure storage account, reached with a shared access signature."""

    selectors: ClassVar[Selectors] = {
        "auth_method": {
            "azure_service_shared_access_signature": "azure_service_shared_access_signature"
        }
    }

    storage_account_name: Short
    auth_method: Literal["azure_service_shared_access_signature"]
    azure_service_shared_access_signature: AzureSharedAccessSignature | None = None
