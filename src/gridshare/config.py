"""Configuration: one place, env `GRIDSHARE_*`, defaults that run the demo on SQLite.

DESIGN rule 8. Every setting is listed in the README's configuration table.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DefaultPurpose(BaseModel):
    """A Purpose the server gives every Client Object (CDS-WG3-01 §8.2, §8.3); Clients cannot
    change or remove it. Checked like any Purpose (`grants.purposes`) when it is used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    name: str
    content: str
    related_uri: str | None = None
    related_name: str | None = None


class Settings(BaseSettings):
    """The server's settings, read from the environment (prefix `GRIDSHARE_`)."""

    model_config = SettingsConfigDict(env_prefix="GRIDSHARE_", frozen=True)

    data_dir: Path = Field(
        default=Path("./gridshare-data"), description="Where SQLite and files live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite in the data dir"
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Public base URL used in absolute links"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = Field(default="America/Los_Angeles", description="The utility's local timezone")
    page_size: int = Field(default=100, ge=1, le=1000, description="Objects per listing page")
    usage_page_size: int = Field(
        default=400,
        ge=1,
        le=5000,
        description="Usage Segments per page of the Usage Segments API (a segment is one local "
        "day of a meter: 400 hold a meter-year, so one request serves it)",
    )
    aggregation_minimum_customers: int = Field(
        default=15,
        ge=1,
        description="Aggregated usage (CDS-WG3-01 §4.11, §4.12, §12.3) of fewer distinct "
        "Customers needs each Customer's Aggregation Inclusion consent",
    )
    utility_name: str = "Demo Gas & Electric"
    utility_abbreviation: str | None = "DG&E"
    utility_description: str = (
        "A fictional electric, gas and water utility serving customers in Northern California"
    )
    utility_country: str = "US"
    website_url: str | None = Field(default=None, description="Default: {base_url}/")
    documentation_url: str | None = Field(default=None, description="Default: {base_url}/docs")
    support_url: str | None = Field(default=None, description="Default: {base_url}/support")
    support_email: str = Field(default="developers@example.com", description="Shown on /support")
    beckn_subscriber_id: str | None = Field(
        default=None, description="Our Beckn subscriber id (BPP); default: the base URL's host"
    )
    beckn_domains: list[str] = Field(
        default=["service", "deg:service"], description="context.domain values accepted"
    )
    beckn_registry_url: str | None = Field(
        default=None, description="The Beckn registry's lookup base URL (network registry)"
    )
    beckn_registry_file: Path | None = Field(
        default=None, description="A JSON file of subscribers and keys (closed networks, tests)"
    )
    beckn_registry_cache_seconds: int = Field(default=300, ge=0)
    beckn_catalog_file: Path | None = Field(
        default=None,
        description="The connection products offered on Beckn (JSON); default: the bundled demo "
        "catalog, beckn/catalog.json",
    )
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_lease_seconds: int = Field(default=60, ge=1)
    grant_sweep_seconds: float = Field(
        default=60.0, gt=0, description="How often the worker expires Grants whose dates passed"
    )
    log_level: str = "INFO"
    secret_key: str | None = Field(
        default=None, description="32-byte key (hex or base64) sealing client secrets"
    )
    access_token_seconds: int = Field(default=3600, ge=60)
    refresh_token_days: int = Field(default=90, ge=1)
    authorization_code_seconds: int = Field(
        default=300,
        ge=10,
        le=359,
        description="Authorization code lifetime (Green Button certification: under 6 minutes)",
    )
    par_seconds: int = Field(default=90, ge=10, le=600)
    download_max_days: int = Field(
        default=400, ge=1, le=3660, description="The longest range of one Download My Data file"
    )
    session_minutes: int = Field(default=30, ge=10)
    rate_limit_per_client: int = Field(
        default=60, ge=1, description="OAuth endpoint requests per minute per client"
    )
    rate_limit_per_address: int = Field(
        default=300, ge=1, description="OAuth endpoint requests per minute per remote address"
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for email; unset: not sent"
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = Field(
        default="no-reply@example.com", description="From address of the server's email"
    )
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with TLS")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_capture: bool = Field(
        default=False, description="Keep email in the database (shown at /demo/mail), not sent"
    )
    scopes_file: Path | None = Field(
        default=None, description="Scope catalogue JSON; default: the bundled grants/scopes.json"
    )
    scenarios: str = Field(
        default="all",
        description="CDS-WG3-01 §4 Scenarios whose scopes are offered: comma-separated ids or all",
    )
    default_purposes: tuple[DefaultPurpose, ...] = Field(
        default=(),
        description="JSON list of the server's default Purposes (CDS-WG3-01 §8.3); default none",
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone name
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gridshare.sqlite3').resolve()}"

    def url(self, path: str) -> str:
        """An absolute URL on this server for `path` (which starts with `/`)."""
        return f"{self.base_url}{path}"

    @property
    def subscriber_id(self) -> str:
        """Our Beckn subscriber id: `beckn_subscriber_id`, else the base URL's host."""
        return self.beckn_subscriber_id or urlsplit(self.base_url).netloc

    @property
    def website(self) -> str:
        return self.website_url or self.url("/")

    @property
    def documentation(self) -> str:
        return self.documentation_url or self.url("/docs")

    @property
    def support(self) -> str:
        return self.support_url or self.url("/support")
