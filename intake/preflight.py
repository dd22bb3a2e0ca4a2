"""Every check of the machine and the configuration's files, made before any work starts.

A problem found here stops the run with a message that says what to install or fix
(exit 3 for the configuration, 4 for the machine); no scan is touched, so a good scan is
never quarantined because of the machine.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from intake.config import Config, SmtpConfig
from intake.errors import CertificateError, ConfigError, EnvironmentProblem


def check(config: Config, *, sending: bool = True) -> None:
    """Tesseract and its languages, the character model, the word list, templates and rules; keys and font to send."""
    check_tesseract(config)
    check_character_model()
    check_lexicon()
    check_rules(config)
    if sending:
        check_sending(config)


def check_sending(config: Config, *, now: dt.datetime | None = None) -> list[str]:
    """What sending needs: readable files, fit certificates and keys, the SMTP password.

    Returns warnings (a certificate that expires within 30 days); raises on anything that
    would send a form to the wrong party or unsigned.
    """
    check_files(config)
    warnings = check_certificates(config, now=now)
    smtp_password(config.transport.smtp)
    check_text_font()
    return warnings


def check_tesseract(config: Config) -> None:
    """Raise with the apt-get command to run when tesseract or a language it needs is missing."""
    from intake.capture import orient
    from intake.ocr import tesseract

    have = tesseract.installed_languages(config.ocr.tesseract)
    # Classification and fields read in the configured languages, orientation in its own.
    needed = dict.fromkeys([*config.ocr.languages, orient.LANGUAGE])
    missing = [lang for lang in needed if lang not in have]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        raise EnvironmentProblem(f"Tesseract language data missing: apt-get install {packages}")


def check_character_model() -> None:
    """The bundled hand-print model must load: without it every comb field would go unread."""
    from intake.routing.icr import CellReader, IcrModelError

    try:
        CellReader()
    except IcrModelError as exc:
        raise EnvironmentProblem(str(exc)) from exc


def check_lexicon() -> None:
    """Voikko's Finnish dictionary and the Swedish word list must load: free text is decoded with them."""
    from intake.routing.icr.lexicon import lexicon

    lexicon()  # raises LexiconMissing (exit 4) with what to install


def check_text_font() -> None:
    """The font of the package PDF's text layer (fonts-dejavu-core) must load: PDF/A embeds it."""
    from intake.transport._font import text_font

    text_font()  # raises EnvironmentProblem with the package to install


def check_rules(config: Config) -> None:
    """Templates load, and every form a rule names is a known template."""
    from intake.routing.templates import load_templates

    templates = load_templates(config.routing.templates)
    for template in templates:
        if template.authority not in config.authorities:
            raise ConfigError(f"form {template.id} names authority {template.authority!r}, which the configuration "
                              f"does not know (known: {', '.join(config.authorities)}): add it to [authorities]",
                              file=str(config.source or ""), key="authorities")  # fmt: skip
    known = {template.id for template in templates}
    for index, rule in enumerate(config.routing.rules):
        for form in rule.form:
            if form not in known:
                raise ConfigError(
                    f"unknown form {form!r} in rule {rule.id!r} (see 'intake templates check')",
                    file=str(config.source or ""),
                    key=f"routing.rules.{index}.form",
                )


def check_files(config: Config) -> None:
    """Every certificate and key the configuration names must be readable."""
    named: list[tuple[str, Path | None]] = [
        ("transport.smtp.ca_file", config.transport.smtp.ca_file),
        ("transport.smime.certificate", config.transport.smime.certificate),
        ("transport.smime.key", config.transport.smime.key),
        ("transport.smime.agency_trust", config.transport.smime.agency_trust),
    ]
    named += [(f"destinations.{name}.certificate", d.certificate) for name, d in config.destinations.items()]
    for key, path in named:
        if path is not None and not os.access(path, os.R_OK):
            raise ConfigError(f"{path} is missing or unreadable", file=str(config.source or ""), key=key)


def check_certificates(config: Config, *, now: dt.datetime | None = None) -> list[str]:
    """Every agency certificate and the signing pair, checked as sending will use them."""
    from intake.transport.trust import AgencyCertificates, check_signer

    moment = now if now is not None else dt.datetime.now(dt.UTC)
    smime, file = config.transport.smime, str(config.source or "")
    warnings: list[str] = []
    if smime.key is not None and smime.certificate is not None:
        try:
            signer = check_signer(smime.certificate, smime.key, address=config.transport.sender, now=moment)
        except CertificateError as exc:
            key = "transport.smime.key" if exc.path == str(smime.key) else "transport.smime.certificate"
            raise ConfigError(str(exc), file=file, key=key) from exc
        warnings += [signer.warning] if signer.warning else []
    elif smime.require_signing and config.destinations:  # with no destination nothing is ever sent
        raise ConfigError(
            "signing is required: set transport.smime.certificate and key (or require_signing = false)",
            file=file,
            key="transport.smime.key",
        )
    if smime.agency_trust is None and any(d.certificate for d in config.destinations.values()):
        raise ConfigError(
            "agency certificates need trust anchors: set agency_trust to the CA certificate(s) they are issued by",
            file=file,
            key="transport.smime.agency_trust",
        )
    agencies = AgencyCertificates(config.destinations.values(), anchors=smime.agency_trust)
    for name, destination in config.destinations.items():
        if destination.certificate is None and smime.require_encryption:
            raise ConfigError(
                f"{destination.address} has no certificate and transport.smime.require_encryption is on",
                file=file,
                key=f"destinations.{name}.certificate",
            )
        try:
            checked = agencies.check(destination, now=moment)
        except CertificateError as exc:
            at_fault = f"destinations.{name}.certificate"
            if exc.path is None or exc.path == str(smime.agency_trust):
                at_fault = "transport.smime.agency_trust"
            raise ConfigError(str(exc), file=file, key=at_fault) from exc
        warnings += [checked.warning] if checked and checked.warning else []
    return warnings


def smtp_password(smtp: SmtpConfig, /) -> str | None:
    """The SMTP password from the environment variable the configuration names, if any."""
    if smtp.password_env is None:
        return None
    password = os.environ.get(smtp.password_env)
    if password is None:
        raise EnvironmentProblem(f"environment variable {smtp.password_env} (transport.smtp.password_env) is not set")
    return password
