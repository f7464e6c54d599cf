"""Settings from the environment, and database URLs as users paste them, normalised and masked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from todo_data.backends import backend_names, find_backend
from todo_data.errors import ConfigurationError

DEFAULT_SQLITE_PATH = Path("data") / "todo.db"
SUPPORTED_BACKENDS = backend_names()

# The password runs to the last ``@`` before the URL ends (at white space): users paste raw ``@``, and a host must
# never be read from inside a password, even where that hides an ``@`` written raw in a query value as well.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)(?P<password>[^\n]*?)@(?=[^@/?#\s]*(?:[/?#][^@\s]*)?(?:\s|$))")
# In a password these are URL syntax (``:`` is not: the first ``:`` after the user name starts the password).
_UNENCODED = re.compile(r"[@/#?]|%(?![0-9A-Fa-f]{2})")


class Settings(BaseSettings):
    """What todo_data reads from the environment; the URL stays a secret in every repr."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    database_url: SecretStr | None = Field(default=None, description="Where the database is; empty: the embedded SQLite file.")
    reports_database_url: SecretStr | None = Field(
        default=None, description="Where `todo-data report` reads (a replica); empty: DATABASE_URL. Migrations never use it."
    )
    database_echo: bool = Field(default=False, description="Log every SQL statement (with bound values hidden).")
    lock_timeout: str = Field(default="5s", description="PostgreSQL lock_timeout for migrations.")
    statement_timeout: str = Field(default="0", description="PostgreSQL statement_timeout for migrations (0: none).")
    managed_tables: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Tables besides the models' that db check and autogenerate compare (comma-separated); all others are left alone.",
    )

    @field_validator("managed_tables", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [name.strip() for name in value.split(",") if name.strip()] if isinstance(value, str) else value

    def url(self, override: str | URL | None = None) -> URL:
        """The sync SQLAlchemy URL: the override, else DATABASE_URL, else the embedded SQLite file."""
        if override is not None:
            return normalize_url(override)
        if self.database_url is not None and self.database_url.get_secret_value().strip():
            return normalize_url(self.database_url.get_secret_value())
        return default_sqlite_url()


def get_settings() -> Settings:
    """Read the settings now (no caching: a notebook may change the environment between cells)."""
    return Settings()


def default_sqlite_url() -> URL:
    """The embedded database: ``./data/todo.db`` under the current directory."""
    return URL.create("sqlite+pysqlite", database=str((Path.cwd() / DEFAULT_SQLITE_PATH).resolve()))


def backend_of(url: URL) -> str:
    """``postgresql``, ``sqlite`` or the URL's own backend name."""
    backend = find_backend(url)
    return url.get_backend_name() if backend is None else backend.name


def parse_url(raw: str | URL) -> URL:
    """Parse what a user pasted; a malformed value gives a one-line error with no password in it."""
    if isinstance(raw, URL):
        return raw
    text = str(raw).strip()
    if not text:
        raise ConfigurationError("The database URL is empty: set DATABASE_URL or pass --database-url, e.g. postgresql://user@host/dbname.")
    _require_encoded_password(text)
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        raise ConfigurationError(
            f"The database URL {mask_text(text)!r} is not a URL: use the form postgresql://user@host:5432/dbname (a password goes after the user, as user:secret) or sqlite:///path/to/file.db."
        ) from None


def _require_encoded_password(text: str) -> None:
    """Refuse a password pasted with raw URL syntax in it: parsers split such a URL in different places."""
    match = _URL_PASSWORD.search(text)
    if match and _UNENCODED.search(match.group("password")):
        raise ConfigurationError(
            f"The password in the database URL {mask_text(text)!r} is not percent-encoded: @ / # ? and % must be written "
            "as %40 %2F %23 %3F %25; encode it with Python's urllib.parse.quote(password, safe='')."
        )


def normalize_url(raw: str | URL) -> URL:
    """The sync URL for any accepted spelling: ``postgres://``, ``+psycopg2``, ``+asyncpg``, ``sqlite:///rel``."""
    url = parse_url(raw)
    backend = find_backend(url)
    return url if backend is None else backend.normalize_url(url)


def async_url(url: URL) -> URL:
    """The asyncio twin of a sync URL (asyncpg / aiosqlite), translating libpq-only options."""
    url = normalize_url(url)
    backend = find_backend(url)
    if backend is None:
        raise ConfigurationError(f"No async driver for {backend_of(url)!r}: todo_data supports {', '.join(SUPPORTED_BACKENDS)}.")
    return backend.async_url(url)


def url_secrets(text: str) -> list[str]:
    """A pasted URL's password as typed (raw ``@`` included) and as decoded, to scrub from anything printed."""
    match = _URL_PASSWORD.search(text)
    if match:
        typed = match.group("password")
    else:
        try:
            typed = make_url(text.strip()).password or ""
        except (ArgumentError, ValueError):
            return []
    return [secret for secret in dict.fromkeys((str(typed), unquote(str(typed)))) if secret]


def mask_url(url: str | URL) -> str:
    """The URL as text with its password replaced by ``***``; safe to print."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return mask_text(url)


def mask_text(text: str, *secrets: str | None) -> str:
    """Hide the password of any URL in ``text`` and every given secret, for messages and logs."""
    masked = _URL_PASSWORD.sub(r"\1***@", text)
    masked = re.sub(r"(?i)(password=)[^&\s]+", r"\1***", masked)
    for secret in secrets:
        if secret:
            masked = masked.replace(secret, "***")
    return masked
