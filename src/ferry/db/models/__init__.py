"""Every metadata table, imported so that ``Base.metadata`` knows them all."""

from ferry.db.models.data_model import DataModel, Product
from ferry.db.models.destination import Destination
from ferry.db.models.event_log import EventLog
from ferry.db.models.magic_link import MagicLink
from ferry.db.models.organization import ApiKey, Environment, EnvironmentKind, Organization
from ferry.db.models.recipient import Recipient
from ferry.db.models.scoped_token import ScopedToken
from ferry.db.models.source import RecipientSourceCredential, Source
from ferry.db.models.ssh_key import SshKey
from ferry.db.models.transfer import ACTIVE_STATUSES, Transfer, TransferStatus
from ferry.db.models.watermark import Watermark
from ferry.db.models.webhook import Webhook, WebhookSigningKey
from ferry.db.models.webhook_delivery import DeliveryStatus, WebhookDelivery

__all__ = [
    "ACTIVE_STATUSES",
    "ApiKey",
    "DataModel",
    "DeliveryStatus",
    "Destination",
    "Environment",
    "EnvironmentKind",
    "EventLog",
    "MagicLink",
    "Organization",
    "Product",
    "Recipient",
    "RecipientSourceCredential",
    "ScopedToken",
    "Source",
    "SshKey",
    "Transfer",
    "TransferStatus",
    "Watermark",
    "Webhook",
    "WebhookDelivery",
    "WebhookSigningKey",
]
