"""The fields of the objects the CDS specs define, as the tests check them: the Server Metadata
fields every server gives (CDS-WG1-01 §3.1), and the Message (CDS-WG1-02 §6.1), Credential (§7.1),
Grant (§8.1) and Server-Provided File (§9.1) objects."""

from __future__ import annotations

from typing import Final

SERVER_METADATA_KEYS: Final = {
    "cds_metadata_version",
    "cds_metadata_url",
    "created",
    "updated",
    "name",
    "description",
    "website",
    "documentation",
    "support",
    "capabilities",
}
MESSAGE_KEYS: Final = {
    "message_id",
    "uri",
    "previous_uri",
    "type",
    "read",
    "creator",
    "created",
    "modified",
    "status",
    "name",
    "description",
}
CREDENTIAL_KEYS: Final = {
    "credential_id",
    "uri",
    "client_id",
    "created",
    "modified",
    "type",
    "client_secret",
    "client_secret_expires_at",
}
GRANT_FIELDS: Final = [
    "grant_id",
    "uri",
    "replacing",
    "replaced_by",
    "parent",
    "children",
    "created",
    "modified",
    "not_before",
    "not_after",
    "eta",
    "expires",
    "status",
    "client_id",
    "scope",
    "authorization_details",
    "receipt_confirmations",
    "enabled_scope",
    "enabled_authorization_details",
]
"""The Grant object's fields in the order §8.1 lists them."""
GRANT_KEYS: Final = set(GRANT_FIELDS)
FILE_KEYS: Final = {
    "file_id",
    "uri",
    "created",
    "modified",
    "mime_type",
    "size",
    "name",
    "description",
    "download_uri",
}
