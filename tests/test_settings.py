"""Settings: every URL spelling users paste becomes the sync URL, async twins, defaults, and no password anywhere."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy.engine import URL, make_url

from todo_data.errors import ConfigurationError
from todo_data.settings import (
    Settings,
    async_url,
    backend_of,
    default_sqlite_url,
    get_settings,
    mask_text,
    mask_url,
    normalize_url,
    parse_url,
    url_secrets,
)

PASSWORD = "s3cr%t-P@ss"
# The password as it must appear inside a URL (percent-encoded: `%` and `@` are URL syntax).
PASSWORD_IN_URL = quote(PASSWORD, safe="")
PG_URL_WITH_PASSWORD = f"postgresql://app:{PASSWORD_IN_URL}@db.example.com:5432/todo"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no DATABASE_URL / DATABASE_ECHO from the caller's shell."""
    for name in ("DATABASE_URL", "DATABASE_ECHO", "LOCK_TIMEOUT", "STATEMENT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _assert_password_absent(text: str) -> None:
    assert PASSWORD not in text
    assert PASSWORD_IN_URL not in text
    assert "P@ss" not in text  # not even the part after a raw `@`


# --- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://app:pw@db.example.com/todo", "postgresql+psycopg://app:pw@db.example.com/todo"),
        ("postgresql://app:pw@db.example.com/todo", "postgresql+psycopg://app:pw@db.example.com/todo"),
        ("postgresql+psycopg://app:pw@db.example.com:5433/todo", "postgresql+psycopg://app:pw@db.example.com:5433/todo"),
        ("postgresql+psycopg2://app:pw@db.example.com/todo", "postgresql+psycopg://app:pw@db.example.com/todo"),
        ("postgresql+asyncpg://app:pw@db.example.com/todo", "postgresql+psycopg://app:pw@db.example.com/todo"),
        ("postgresql://app:pw@db.example.com/todo?sslmode=require", "postgresql+psycopg://app:pw@db.example.com/todo?sslmode=require"),
        # asyncpg's spelling pasted as the sync URL: libpq wants sslmode
        ("postgresql+asyncpg://app:pw@db.example.com/todo?ssl=require", "postgresql+psycopg://app:pw@db.example.com/todo?sslmode=require"),
        ("  postgres://app:pw@db.example.com/todo\n", "postgresql+psycopg://app:pw@db.example.com/todo"),
        ("sqlite:///relative.db", "sqlite+pysqlite:///relative.db"),
        ("sqlite:////abs/path.db", "sqlite+pysqlite:////abs/path.db"),
        ("sqlite+pysqlite:////abs/path.db", "sqlite+pysqlite:////abs/path.db"),
        ("sqlite+aiosqlite:////abs/path.db", "sqlite+pysqlite:////abs/path.db"),
    ],
)
def test_every_pasted_spelling_normalises_to_the_sync_url(raw: str, expected: str) -> None:
    url = normalize_url(raw)
    assert _render(url) == expected
    assert normalize_url(url) == url  # idempotent
    assert normalize_url(make_url(raw.strip())) == url  # a URL object is treated like its text


def test_normalised_urls_keep_their_parts() -> None:
    url = normalize_url(f"postgres://app:{PASSWORD_IN_URL}@db.example.com:6543/todo?sslmode=require&application_name=nb")
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == ("app", PASSWORD, "db.example.com", 6543, "todo")
    assert dict(url.query) == {"sslmode": "require", "application_name": "nb"}
    assert backend_of(url) == "postgresql"


def test_sqlite_paths_are_kept_as_given() -> None:
    assert normalize_url("sqlite:///relative.db").database == "relative.db"
    assert normalize_url("sqlite:////abs/path.db").database == "/abs/path.db"
    assert backend_of(normalize_url("sqlite:///relative.db")) == "sqlite"


def test_an_unsupported_backend_is_left_alone_and_has_no_async_twin() -> None:
    url = normalize_url(f"mysql://app:{PASSWORD_IN_URL}@db.example.com/todo")
    assert url.drivername == "mysql"
    with pytest.raises(ConfigurationError, match="No async driver for 'mysql'") as excinfo:
        async_url(url)
    _assert_password_absent(str(excinfo.value))


# --- async twins --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://app:pw@db.example.com/todo", "postgresql+asyncpg://app:pw@db.example.com/todo"),
        ("postgresql://app:pw@db.example.com/todo", "postgresql+asyncpg://app:pw@db.example.com/todo"),
        ("postgresql+psycopg://app:pw@db.example.com/todo", "postgresql+asyncpg://app:pw@db.example.com/todo"),
        ("postgresql+psycopg2://app:pw@db.example.com/todo", "postgresql+asyncpg://app:pw@db.example.com/todo"),
        ("postgresql+asyncpg://app:pw@db.example.com/todo", "postgresql+asyncpg://app:pw@db.example.com/todo"),
        ("postgresql://app:pw@db.example.com/todo?sslmode=require", "postgresql+asyncpg://app:pw@db.example.com/todo?ssl=require"),
        ("postgresql+asyncpg://app:pw@db.example.com/todo?ssl=require", "postgresql+asyncpg://app:pw@db.example.com/todo?ssl=require"),
        ("postgresql://app:pw@db.example.com/todo?connect_timeout=5", "postgresql+asyncpg://app:pw@db.example.com/todo?timeout=5"),
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("sqlite:////abs/path.db", "sqlite+aiosqlite:////abs/path.db"),
    ],
)
def test_async_url_uses_asyncpg_or_aiosqlite(raw: str, expected: str) -> None:
    assert _render(async_url(normalize_url(raw))) == expected
    assert _render(async_url(make_url(raw))) == expected  # un-normalised input works too


def test_async_url_translates_sslmode_and_keeps_other_options() -> None:
    url = async_url(normalize_url("postgresql://app:pw@db.example.com/todo?sslmode=verify-full&application_name=nb"))
    assert dict(url.query) == {"ssl": "verify-full", "application_name": "nb"}
    assert "sslmode" not in _render(url)


# --- where the URL comes from -------------------------------------------------------------------


def test_default_is_the_embedded_sqlite_file_under_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    expected = str((tmp_path / "data" / "todo.db").resolve())
    url = Settings().url()
    assert url.drivername == "sqlite+pysqlite"
    assert url.database == expected
    assert default_sqlite_url() == url
    assert get_settings().url() == url
    assert not (tmp_path / "data").exists()  # reading the settings creates nothing


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_database_url_means_the_default(blank: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", blank)
    assert Settings().url().database == str((tmp_path / "data" / "todo.db").resolve())


def test_database_url_from_the_environment_wins_over_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", PG_URL_WITH_PASSWORD.replace("postgresql://", "postgres://"))
    url = Settings().url()
    assert _render(url) == PG_URL_WITH_PASSWORD.replace("postgresql://", "postgresql+psycopg://")
    assert url.password == PASSWORD


def test_lower_case_environment_names_are_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("database_url", "sqlite:////abs/path.db")
    monkeypatch.setenv("DATABASE_ECHO", "true")
    settings = Settings()
    assert settings.url().database == "/abs/path.db"
    assert settings.database_echo is True


def test_an_explicit_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", PG_URL_WITH_PASSWORD)
    assert _render(Settings().url("sqlite:////abs/override.db")) == "sqlite+pysqlite:////abs/override.db"
    assert Settings().url(make_url("postgres://other@h/db")).drivername == "postgresql+psycopg"


def test_settings_are_read_afresh_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////first.db")
    assert get_settings().url().database == "/first.db"
    monkeypatch.setenv("DATABASE_URL", "sqlite:////second.db")
    assert get_settings().url().database == "/second.db"


# --- the password stays secret ------------------------------------------------------------------


def test_settings_never_show_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", PG_URL_WITH_PASSWORD)
    settings = Settings()
    assert settings.url().password == PASSWORD  # it is there ...
    for text in (repr(settings), str(settings), repr(settings.model_dump()), settings.model_dump_json(), f"{settings}"):
        _assert_password_absent(text)  # ... but never shown


def test_mask_url_hides_the_password() -> None:
    url = normalize_url(PG_URL_WITH_PASSWORD)
    assert mask_url(url) == "postgresql+psycopg://app:***@db.example.com:5432/todo"
    assert mask_url(PG_URL_WITH_PASSWORD) == "postgresql://app:***@db.example.com:5432/todo"
    assert mask_url("sqlite:////abs/path.db") == "sqlite:////abs/path.db"
    assert mask_url("postgresql://app@db.example.com/todo") == "postgresql://app@db.example.com/todo"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a password pasted without percent-encoding: everything up to the host is hidden
        ("postgresql://app:s3cr%t-P@ss@db.example.com/todo", "postgresql://app:***@db.example.com/todo"),
        # SQLAlchemy renders spaces in passwords as they are
        ("postgresql://app:my secret@db.example.com/todo", "postgresql://app:***@db.example.com/todo"),
        (
            "connect to postgresql://app:pw@h:5432/todo failed; mail admin@example.com",
            "connect to postgresql://app:***@h:5432/todo failed; mail admin@example.com",
        ),
        ("postgresql://app@h/todo or admin@example.com", "postgresql://app@h/todo or admin@example.com"),
        ("a postgresql://u:p1@h1/db and b postgres://u:p2@h2/db", "a postgresql://u:***@h1/db and b postgres://u:***@h2/db"),
        # a raw @ then / in the password: the host is the one after the last @, not a piece of the password
        ("postgresql://u:a@b/c@host/db failed", "postgresql://u:***@host/db failed"),
        ("postgresql://u:p@ss:w/rd#1@host/db failed", "postgresql://u:***@host/db failed"),
        ("postgresql://u:p@ss?x=1@host/db", "postgresql://u:***@host/db"),
        ("postgresql://u:pw@h:5432/db#fragment and admin@example.com", "postgresql://u:***@h:5432/db#fragment and admin@example.com"),
        ("host=h user=app password=s3cr%t-P@ss dbname=todo", "host=h user=app password=*** dbname=todo"),
        ("postgresql://app@h/todo?password=s3cr%t&sslmode=require", "postgresql://app@h/todo?password=***&sslmode=require"),
    ],
)
def test_mask_text_hides_passwords_in_free_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_text_hides_each_given_secret() -> None:
    assert mask_text(f"auth failed for {PASSWORD} (really {PASSWORD})", PASSWORD, None, "") == "auth failed for *** (really ***)"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("postgresql://user:s3cr3t@host:notaport/db", "postgresql://user:***@host:notaport/db"),
        (f"postgresql://user:{PASSWORD_IN_URL}@host:notaport/db", "postgresql://user:***@host:notaport/db"),
        ("postgresql://user:my secret@host:5432x/db", "postgresql://user:***@host:5432x/db"),
        ("not a url", "not a url"),
    ],
)
def test_a_malformed_url_gives_a_one_line_error_without_the_password(raw: str, shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        parse_url(raw)
    message = str(excinfo.value)
    assert "\n" not in message
    assert f"{shown!r} is not a URL" in message
    for secret in ("s3cr3t", PASSWORD, PASSWORD_IN_URL, "my secret"):
        assert secret not in message
    # the same through the environment
    monkeypatch.setenv("DATABASE_URL", raw)
    with pytest.raises(ConfigurationError) as excinfo:
        Settings().url()
    assert str(excinfo.value) == message
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


@pytest.mark.parametrize(
    "password",
    [
        "S3cr3t-p@ss%word",  # the issue's: a raw @ (two in the netloc) and a % that starts no escape
        "p@ss",
        "a@b/c",  # @ then / : the host must not be read from inside the password
        "pa#ss",  # a fragment would cut the URL
        "pa/ss",  # a path would start early
        "pa?ss",  # a query would start early
        "50%",  # % at the end
        "100%sure",  # % not followed by two hex digits
        "p@ss:w/rd#1",
    ],
)
@pytest.mark.parametrize("port", ["", ":5432", ":notaport"])
def test_a_password_with_raw_url_syntax_says_to_percent_encode_it(password: str, port: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = f"postgresql://app:{password}@db.example.com{port}/todo"
    with pytest.raises(ConfigurationError) as excinfo:
        parse_url(raw)
    message = str(excinfo.value)
    assert message == (
        f"The password in the database URL 'postgresql://app:***@db.example.com{port}/todo' is not percent-encoded: "
        "@ / # ? and % must be written as %40 %2F %23 %3F %25; encode it with Python's urllib.parse.quote(password, safe='')."
    )
    for part in re.split(r"[@/#?%:]", password):
        assert len(part) < 3 or part not in message.replace("percent-encoded", "").replace("password", "")
    monkeypatch.setenv("DATABASE_URL", raw)
    with pytest.raises(ConfigurationError) as excinfo:
        Settings().url()
    assert str(excinfo.value) == message
    # the advice works: the encoded password is read whole
    if port != ":notaport":
        url = normalize_url(raw.replace(password, quote(password, safe="")))
        assert (url.password, url.host, url.database) == (password, "db.example.com", "todo")
    assert set(url_secrets(raw)) >= {password}


def test_a_colon_in_the_password_needs_no_encoding() -> None:
    # RFC 3986 allows ':' in userinfo: the first ':' after the user name starts the password, here and in libpq.
    url = normalize_url("postgresql://app:pa:ss:1@db.example.com:6543/todo")
    assert (url.username, url.password, url.host, url.port) == ("app", "pa:ss:1", "db.example.com", 6543)
    assert normalize_url("postgresql://app:p%40ss%25@db.example.com/todo").password == "p@ss%"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sslmode=bogus", "sslmode='bogus' in the database URL is not one of disable, allow, prefer, require, verify-ca, verify-full"),
        ("?ssl=bogus", "sslmode='bogus' in the database URL is not one of"),
        ("", None),
    ],
)
@pytest.mark.parametrize("port", ["99999", "0", "5432"])
def test_port_and_sslmode_are_checked_before_connecting(query: str, expected: str | None, port: str) -> None:
    raw = f"postgresql://app:{PASSWORD_IN_URL}@db.example.com:{port}/todo{query}"
    if port != "5432":
        expected = f"Port {port} in the database URL is not a port: use 1 to 65535 (PostgreSQL's default is 5432)."
    if expected is None:
        assert normalize_url(raw).port == 5432
        return
    with pytest.raises(ConfigurationError, match=re.escape(expected)) as excinfo:
        normalize_url(raw)
    _assert_password_absent(str(excinfo.value))


def test_connect_timeout_must_be_whole_seconds() -> None:
    assert normalize_url("postgresql://app@h/todo?connect_timeout=10").query["connect_timeout"] == "10"
    with pytest.raises(ConfigurationError, match=r"connect_timeout='soon' in the database URL is not a whole number of seconds"):
        normalize_url("postgresql://app@h/todo?connect_timeout=soon")


@pytest.mark.parametrize("raw", ["", "   ", "\n"])
def test_an_empty_url_says_how_to_set_one(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="The database URL is empty: set DATABASE_URL"):
        normalize_url(raw)


# --- property: whatever the password, masking removes all of it ---------------------------------

passwords = st.text(min_size=1, max_size=40)


@given(password=passwords)
def test_mask_url_removes_any_password(password: str) -> None:
    url = URL.create("postgresql", username="app", password=password, host="db.example.com", port=5432, database="todo")
    text = _render(url)
    assert make_url(text).password == password  # the text really carries it
    expected = "postgresql://app:***@db.example.com:5432/todo"
    assert mask_url(url) == expected
    assert mask_url(text) == expected
    assert mask_text(text) == expected
    assert mask_url(normalize_url(text)) == expected.replace("postgresql://", "postgresql+psycopg://")
    sentence = "could not connect to {}: refused"
    assert mask_text(sentence.format(text)) == sentence.format(expected)
    assume(password not in sentence.format(expected))  # e.g. "a" is in "app": absence only means something otherwise
    for masked in (mask_url(url), mask_url(text), mask_text(sentence.format(text))):
        assert password not in masked
        assert quote(password, safe="") not in masked


@given(password=passwords)
def test_a_malformed_url_never_shows_any_password(password: str) -> None:
    raw = f"postgresql://app:{quote(password, safe='')}@db.example.com:notaport/todo"
    with pytest.raises(ConfigurationError) as excinfo:
        parse_url(raw)
    assert "'postgresql://app:***@db.example.com:notaport/todo' is not a URL" in str(excinfo.value)


@given(password=passwords.filter(lambda p: "*" not in p), before=st.text(max_size=20), after=st.text(max_size=20))
def test_mask_text_removes_given_secrets_from_any_text(password: str, before: str, after: str) -> None:
    masked = mask_text(f"{before}{password}{after}{password}", password)
    assert password not in masked
