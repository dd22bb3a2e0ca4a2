"""The configuration: one TOML file, validated by pydantic before any work starts."""

from __future__ import annotations

import os
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intake.config_routing import (
    BUILTIN_AUTHORITIES,
    ID,
    Agency,
    Authority,
    Destination,
    Rule,
    TableError,
    check_table,
)
from intake.errors import ConfigError
from intake.ocr.engine import Tesseract

__all__ = ["Agency", "Authority", "Config", "Destination", "Rule", "load"]

ENV_VAR = "INTAKE_CONFIG"
_M = TypeVar("_M", bound=BaseModel)
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaptureConfig(_Strict):
    """Limits and resolution for reading input files."""

    work_dpi: int = Field(300, ge=150, le=600)
    # A 200-page colour batch at 300 dpi is ~150 MB as JPEG-in-PDF; larger is refused unread.
    max_file_mb: float = Field(500.0, gt=0, le=10_000)
    max_pages: int = Field(200, ge=1, le=5000)
    max_megapixels: float = Field(60.0, gt=0, le=180)
    file_timeout_s: float = Field(900.0, gt=0)  # 200 pages at ~2.5 s on two cores, with room
    page_timeout_s: float = Field(60.0, gt=0)
    blank_ink_ratio: float = Field(0.0015, ge=0, le=0.05)


class WatchConfig(_Strict):
    """The hot folder: how often it is polled for files the scanner has finished writing."""

    interval_s: float = Field(2.0, gt=0, le=3600, description="a file is taken once unchanged over two polls")
    # Scanners and copy tools write under hidden or temporary names (".scan.pdf",
    # "x.part") and rename when done; such a name left unchanged this long is taken anyway.
    temp_names_after_s: float = Field(600.0, ge=0, le=7 * 24 * 3600)


class RetentionConfig(_Strict):
    """How long handled scans (DIR/done) and sent messages stay; held ones stay until resolved."""

    scans_days: float = Field(30.0, gt=0, le=36_500)
    sent_days: float = Field(30.0, gt=0, le=36_500)


class OcrConfig(_Strict):
    """Tesseract: languages and parallelism."""

    languages: list[str] = Field(default_factory=lambda: ["fin", "swe", "eng"], min_length=1)
    workers: int = Field(0, ge=0, le=64, description="0 = one worker per core")
    tesseract: str = "tesseract"

    def engine(self) -> Tesseract:
        """The OCR engine: the tesseract program with these languages."""
        return Tesseract(cmd=self.tesseract, languages=tuple(self.languages))


class RoutingConfig(_Strict):
    """Templates, the review threshold and the routing rules (first match wins)."""

    templates: Path | None = Field(None, description="extra template folder")
    rules_file: Path | None = Field(None, description="authorities, agencies, destinations and rules, apart")
    review_threshold: float = Field(0.80, gt=0.5, le=1.0)  # doubtful pages score <= 0.5
    field_threshold: float = Field(0.60, ge=0.0, le=1.0)
    duplicate_days: int = Field(14, ge=0, le=366, description="a rescan within this many days is held; 0: off")
    rules: list[Rule] = Field(default_factory=list)


class TlsMode(StrEnum):
    STARTTLS = "starttls"  # port 587: STARTTLS is required, never plain text
    IMPLICIT = "implicit"  # port 465: TLS from the first byte


class SmtpConfig(_Strict):
    """The mail server intake delivers through; TLS is always required."""

    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    tls: TlsMode = TlsMode.STARTTLS
    ca_file: Path | None = Field(None, description="CA bundle; default: the system's")
    username: str | None = None
    password_env: str | None = Field(None, description="environment variable holding the password")
    timeout_s: float = Field(60.0, gt=0, le=3600)
    helo: str | None = None


class SmimeConfig(_Strict):
    """Signing key of this service point, and whom agency certificates must chain to."""

    certificate: Path | None = Field(None, description="this service point's signing certificate (PEM)")
    key: Path | None = Field(None, description="its private key (PEM, mode 600)")
    agency_trust: Path | None = Field(None, description="CA certificates agency certificates must chain to")
    require_encryption: bool = True
    require_signing: bool = True

    @model_validator(mode="after")
    def _pair(self) -> SmimeConfig:
        if (self.certificate is None) != (self.key is None):
            raise ValueError("certificate and key go together: give both or neither")
        return self


class RetryConfig(_Strict):
    """Back-off for temporary delivery failures (Postfix-like)."""

    first_s: float = Field(300.0, gt=0)
    max_s: float = Field(4000.0, gt=0)
    give_up_after_s: float = Field(5 * 24 * 3600.0, gt=0)


class TransportConfig(_Strict):
    """Where packages wait and how they leave."""

    spool: Path = Path("var")
    sender: str = "intake@localhost.localdomain"
    service_point: str = Field("asiointipiste", pattern=r"^[A-Za-z0-9_.-]+$")
    smtp: SmtpConfig = SmtpConfig()
    smime: SmimeConfig = SmimeConfig()
    retry: RetryConfig = RetryConfig()

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class StoreConfig(_Strict):
    """The document store: every document intake sees, kept until it is done.

    SQLite under the spool by default; a PostgreSQL URL makes a regional hub share one.
    """

    database: str | None = Field(
        None, description="postgresql://user@host/db, or a SQLite file path; default <spool>/store/store.sqlite"
    )
    folder: Path | None = Field(None, description="page images and field crops; default <spool>/store")
    password_env: str | None = Field(None, description="environment variable holding the database password")
    keep_days: int = Field(14, ge=1, le=3650, description="days a sent or rejected document's pages and readings stay")

    @field_validator("database")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and "://" in value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(f"{value.split('://')[0]!r} databases are not supported (sqlite file or postgresql://)")
        return value


class Language(StrEnum):
    FI = "fi"
    SV = "sv"
    EN = "en"


class DeskConfig(_Strict):
    """The advisor's desk (``intake serve``): where it listens and how long a sign-in lasts."""

    host: str = Field("127.0.0.1", description="listen address; the desk is local to the service point")
    port: int = Field(8480, ge=1, le=65535)
    hot_folder: Path | None = Field(None, description="folder the desk watches and puts uploads into")
    language: Language = Language.FI
    session_idle_s: int = Field(1800, ge=60, le=24 * 3600, description="signed out after this much inactivity")
    session_max_s: int = Field(10 * 3600, ge=300, le=7 * 24 * 3600, description="signed out after this long anyway")
    # An open list asks for news and is answered the moment there is some, or 'nothing new'
    # after this; below the idle time-out of any proxy in front of the desk.
    live_wait_s: float = Field(20.0, ge=1, le=120, description="longest wait of the live list for news")


class Config(_Strict):
    """The whole configuration file."""

    capture: CaptureConfig = CaptureConfig()
    ocr: OcrConfig = OcrConfig()
    routing: RoutingConfig = RoutingConfig()
    authorities: dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_-]*$")], Authority] = BUILTIN_AUTHORITIES
    agencies: dict[Annotated[str, Field(pattern=ID)], Agency] = {}
    destinations: dict[Annotated[str, Field(pattern=ID)], Destination] = {}
    transport: TransportConfig = TransportConfig()
    watch: WatchConfig = WatchConfig()
    retention: RetentionConfig = RetentionConfig()
    store: StoreConfig = StoreConfig()
    desk: DeskConfig = DeskConfig()
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _one_certificate_per_address(self) -> Config:
        # The outbox checks a queued item against its address's certificate at send time:
        # two certificates for one address would make that check ambiguous.
        seen: dict[str, tuple[str, Path | None]] = {}
        for name, destination in self.destinations.items():
            first = seen.setdefault(destination.address.casefold(), (name, destination.certificate))
            if first[1] != destination.certificate:
                raise ValueError(
                    f"destinations {first[0]!r} and {name!r} have the same address {destination.address} "
                    "but different certificates"
                )
        return self

    @field_validator("authorities", mode="before")
    @classmethod
    def _extend_builtin(cls, value: Any) -> Any:
        # The twelve owners of the known forms are always there; a file adds (or renames).
        return {**BUILTIN_AUTHORITIES, **value} if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _sections_agree(self) -> Config:
        check_table(self.authorities, self.agencies, self.destinations, self.routing.rules)
        return self


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make relative paths in the file relative to the file's own folder."""

    def fix(section: dict[str, Any], key: str) -> None:
        value = section.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            section[key] = str(base / value)

    routing = data.get("routing", {})
    if isinstance(routing, dict):
        fix(routing, "templates")
    for dest in (data.get("destinations") or {}).values():
        if isinstance(dest, dict):
            fix(dest, "certificate")
    for section_name, key in (("store", "folder"), ("desk", "hot_folder")):
        section = data.get(section_name)
        if isinstance(section, dict):
            fix(section, key)
    store = data.get("store")
    if isinstance(store, dict) and "://" not in str(store.get("database", "://")):
        fix(store, "database")
    transport = data.get("transport", {})
    if isinstance(transport, dict):
        fix(transport, "spool")
        for sub, keys in (("smtp", ("ca_file",)), ("smime", ("certificate", "key", "agency_trust"))):
            section = transport.get(sub)
            if isinstance(section, dict):
                for key in keys:
                    fix(section, key)


_TABLE = ("authorities", "agencies", "destinations")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from exc


def _merge_rules_file(data: dict[str, Any], base: Path, override: Path | None) -> Path | None:
    """Put the rules file's sections where the configuration keeps them; its path, if any.

    ``override`` (``--rules NEW.toml``) replaces the configured rules file, or the rules
    written in the configuration itself.
    """
    routing = data.setdefault("routing", {})
    named = routing.get("rules_file")
    if override is None and not named:
        return None
    path = override.resolve() if override is not None else base / str(named)
    table = _read_toml(path)
    _resolve_paths(table, path.parent)
    for key in _TABLE:
        if key in table:
            if key in data and override is None:
                raise ConfigError(f"[{key}] is in both this file and the rules file {path}", file=str(base))
            data[key] = table.pop(key)
    if routing.get("rules") and override is None:
        raise ConfigError(f"rules are in both this file and the rules file {path}", file=str(base), key="routing")
    routing["rules"] = table.pop("rules", [])
    routing["rules_file"] = str(path)
    if table:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(table))} (known: rules, {', '.join(_TABLE)})",
                          file=str(path))  # fmt: skip
    return path


def require(path: Path | str | None) -> None:
    """Commands that route or send need a configuration: say so when none is given."""
    if path is None and not os.environ.get(ENV_VAR):
        raise ConfigError(
            f"no configuration given: pass --config FILE or set ${ENV_VAR} "
            "(examples/intake.toml is a commented example)"
        )


def load(path: Path | str | None = None, *, rules: Path | None = None) -> Config:
    """Read and validate the configuration; ``None`` means $INTAKE_CONFIG or defaults.

    ``rules`` is a rules file to use instead of the configured one (to try a new rule set).
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    if path is None:
        data: dict[str, Any] = {}
        base = Path.cwd()
    else:
        path = Path(path)
        data = _read_toml(path)
        base = path.resolve().parent
        _resolve_paths(data, base)
    rules_path = _merge_rules_file(data, base, rules)
    try:
        return Config.model_validate({**data, "source": path})
    except ValidationError as exc:
        raise _config_error(exc, path, rules_path) from exc


def _config_error(exc: ValidationError, path: Path | None, rules_path: Path | None) -> ConfigError:
    """The first problem, named by file and key (in the rules file when it is one of its keys)."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or None
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, TableError):
        key = cause.key
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    message = error["msg"].removeprefix("Value error, ")
    where = str(path) if path else None
    in_table = (key or message).startswith(("routing.rules", *_TABLE))
    if rules_path is not None and in_table:
        where = str(rules_path)
        key = key.replace("routing.rules", "rules", 1) if key else None
        message = message.replace("routing.rules", "rules", 1)
    return ConfigError(f"{message}{more}", file=where, key=key)


def _validated(model: type[_M], data: dict[str, Any], path: Path | None) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or None
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{message}{more}", file=str(path) if path else None, key=key) from exc


# The receiving agency's side (``intake receive``) has a file of its own: an agency
# runs it without any of the service point's configuration.

RECEIVE_ENV_VAR = "INTAKE_RECEIVE_CONFIG"


class AgencyKey(_Strict):
    """One of the agency's S/MIME certificates and its private key (PEM, RSA)."""

    certificate: Path
    key: Path


class ReceiveConfig(_Strict):
    """Who the agency is, its keys, whom it trusts, and where packages go."""

    addresses: list[str] = Field(min_length=1, description="the agency's addresses a manifest may name")
    keys: list[AgencyKey] = Field(min_length=1, description="current and previous keys: each is tried")
    trust: list[Path] = Field(min_length=1, description="CA or service-point certificates (PEM)")
    signers: list[Path] = Field(default_factory=list, description="if given: only these signing certificates")
    output: Path = Path("received")
    sources: list[Path] = Field(default_factory=list, description="Maildirs, mboxes, .eml files or folders")
    require_encryption: bool = True

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _ADDRESS.match(address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


def load_receive(path: Path | str | None, /, **overrides: Any) -> ReceiveConfig:
    """Read the agency's file (``None``: $INTAKE_RECEIVE_CONFIG, or flags only).

    ``overrides`` (from command-line flags) replace the file's top-level keys; paths in
    the file are relative to its folder, paths in flags to the current one.
    """
    if path is None and os.environ.get(RECEIVE_ENV_VAR):
        path = os.environ[RECEIVE_ENV_VAR]
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        data = _read_toml(path)
        base = path.resolve().parent
        for key in ("output", "trust", "signers", "sources"):
            data[key] = _relative(data.get(key), base)
        for pair in data.get("keys") or []:
            if isinstance(pair, dict):
                pair.update({k: _relative(v, base) for k, v in pair.items() if k in ("certificate", "key")})
        data = {key: value for key, value in data.items() if value is not None}
    data.update({key: value for key, value in overrides.items() if value is not None})
    if "addresses" not in data and "keys" not in data:
        raise ConfigError(f"give a receiving configuration: --config FILE or ${RECEIVE_ENV_VAR}, or the flags")
    return _validated(ReceiveConfig, data, path)


def _relative(value: Any, base: Path) -> Any:
    """Paths (or lists of them) in a file are relative to the file's folder."""
    if isinstance(value, list):
        return [_relative(item, base) for item in value]
    if isinstance(value, str) and value and not os.path.isabs(value):
        return str(base / value)
    return value
