"""Django as a library inside intake: settings made from intake's configuration, migrations run at start.

The store and the desk share one Django set-up per process. SQLite (WAL, synchronous=FULL,
under the spool) is the default; ``[store] database = "postgresql://…"`` makes a regional
hub a configuration change.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from intake.config import Config
from intake.durable import write_durably
from intake.errors import ConfigError, EnvironmentProblem, StoreError

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MIGRATED: set[str] = set()
PACKAGE = Path(__file__).resolve().parents[1]


def store_folder(config: Config) -> Path:
    """Where page images and field crops rest: ``[store] folder`` or ``<spool>/store``."""
    return config.store.folder if config.store.folder is not None else config.transport.spool / "store"


def database_settings(config: Config) -> dict[str, Any]:
    """Django's DATABASES['default'] for ``[store] database``."""
    url = config.store.database
    if url is None or "://" not in url:
        path = Path(url) if url else store_folder(config) / "store.sqlite"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_private(path)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            # Every commit survives a power cut; IMMEDIATE makes writers queue, not fail.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    parts = urlsplit(url)
    password = os.environ.get(config.store.password_env, "") if config.store.password_env else ""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": password or unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
    }


def _create_private(path: Path) -> None:
    """Create the database file 0600 (SQLite would follow the umask); leave an existing one unopened.

    Opening and closing a database file that SQLite has open in this process drops every
    POSIX lock SQLite holds on it (fcntl locks are per process, released by any close):
    another process's connection then takes itself for the last one and deletes the WAL
    under the running desk, whose every request then fails with 'disk I/O error'.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _secret_key(folder: Path) -> str:
    """The desk's signing key: made once per installation, readable only by its owner."""
    path = folder / "secret.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_durably(path, secrets.token_urlsafe(48).encode())
        path.chmod(0o600)
    return path.read_text().strip()


_TEMPLATES = {
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {
        "context_processors": [
            "django.template.context_processors.request",
            "django.template.context_processors.csrf",
            "django.template.context_processors.i18n",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
            "intake.desk.context.roles",
        ]
    },
}


def django_settings(config: Config) -> dict[str, Any]:
    """Every Django setting intake uses, from ``config``."""
    folder = store_folder(config)
    return {
        "DEBUG": False,
        "SECRET_KEY": _secret_key(folder),
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost", "[::1]", config.desk.host],
        "INSTALLED_APPS": [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "intake.store",
            "intake.desk",
        ],
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "intake.desk.middleware.SecurityHeaders",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "intake.desk.middleware.IdleClock",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "intake.desk.middleware.SessionLimits",
            "intake.desk.middleware.UserLanguage",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        "ROOT_URLCONF": "intake.desk.urls",
        "DATABASES": {"default": database_settings(config)},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "TEMPLATES": [_TEMPLATES],
        "USE_I18N": True,
        "USE_TZ": True,
        "TIME_ZONE": "Europe/Helsinki",
        "LANGUAGE_CODE": str(config.desk.language),
        "LANGUAGES": [("fi", "suomi"), ("sv", "svenska"), ("en", "English")],
        "LOCALE_PATHS": [str(PACKAGE / "desk" / "locale")],
        "LOGIN_URL": "/signin",
        "LOGIN_REDIRECT_URL": "/",
        "AUTH_PASSWORD_VALIDATORS": [
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
        ],
        "SESSION_COOKIE_AGE": config.desk.session_idle_s,
        "SESSION_SAVE_EVERY_REQUEST": False,  # IdleClock: the age counts from the last request but the live list's
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Strict",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",  # no-referrer makes Chromium send Origin: null, which CSRF refuses
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 5 * 1024 * 1024,
        "FILE_UPLOAD_MAX_MEMORY_SIZE": 5 * 1024 * 1024,
        "MESSAGE_STORAGE": "django.contrib.messages.storage.session.SessionStorage",
        "INTAKE_CONFIG": config,
        "LOGGING_CONFIG": None,  # intake's own logging set-up stays in charge
    }


def configure(config: Config) -> None:
    """Set Django up for ``config`` once per process and bring its database schema up to date.

    A later call with another database (tests, one process serving several spools in turn)
    points the default connection at it; the schema is migrated once per database.
    """
    import django
    from django.conf import settings

    wanted = django_settings(config)
    with _LOCK:
        if not settings.configured:
            settings.configure(**wanted)
            django.setup()
        elif not _same_database(settings.DATABASES["default"], wanted["DATABASES"]["default"]):
            _switch_database(wanted)
        settings.INTAKE_CONFIG = config
        _migrate(wanted["DATABASES"]["default"])


def _same_database(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Django adds its defaults to the settings it was given: compare only what intake sets."""
    return all(current.get(key) == value for key, value in wanted.items())


def _switch_database(wanted: dict[str, Any]) -> None:
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    current = settings.DATABASES["default"]
    current.clear()
    current.update(wanted["DATABASES"]["default"])
    connections.settings = connections.configure_settings(settings.DATABASES)
    with contextlib.suppress(AttributeError):  # no connection opened in this thread yet
        del connections["default"]
    settings.SECRET_KEY = wanted["SECRET_KEY"]


def _migrate(database: dict[str, Any]) -> None:
    from django.core.management import call_command
    from django.db import DatabaseError

    key = f"{database['ENGINE']}:{database.get('HOST', '')}:{database['NAME']}"
    if key in _MIGRATED:
        return
    try:
        call_command("migrate", interactive=False, verbosity=0)
    except DatabaseError as exc:
        raise StoreError(f"cannot open or migrate the document store: {exc}") from exc
    except ImportError as exc:  # psycopg for PostgreSQL
        raise EnvironmentProblem(f"the store's database driver is missing: {exc} (pip install psycopg)") from exc
    except ValueError as exc:
        raise ConfigError(f"store database: {exc}", key="store.database") from exc
    _MIGRATED.add(key)
    log.debug("document store ready (%s)", database["ENGINE"].rsplit(".", 1)[-1])
