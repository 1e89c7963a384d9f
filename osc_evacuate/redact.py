"""Keep the values given to --password out of every log record.

osc-lib logs the command line at -v through oslo's mask_password, which
turns ``--password a=b@c`` into ``***=b@c``; keystoneauth logs request
bodies at --debug; an exception may quote an argument. The plugin module is
imported before any of them logs, so it installs a log record factory that
replaces each such value, in every form a log line can hold it (as typed,
repr'd, JSON-escaped, URL-encoded, or what another masker left of it), with
``***``.

Cheap when unused: without --password on the command line nothing is
installed.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

MASK = "***"
OPTION = "--password"


def passwords_in(argv: Sequence[str]) -> list[str]:
    """The values of --password in argv (``--password v``, ``--password=v``,
    and argparse's unambiguous prefixes such as ``--pass v``)."""
    found = []
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if len(name) < len("--pa") or not OPTION.startswith(name):
            continue
        if eq:
            found.append(value)
        elif i + 1 < len(argv):
            found.append(argv[i + 1])
    return [v for v in found if v]


# A shorter piece of a password is left in the text: masking it would
# garble every log line that happens to hold those few characters.
MIN_PIECE = 4


def forms_of(secret: str) -> list[str]:
    """Every way a log line can spell the secret, longest first.

    Another masker may have hidden part of it already (oslo's shows
    ``***=b@c`` for ``a=b@c``), so the pieces left at its start or end,
    down to MIN_PIECE characters, count too.
    """
    spellings = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
    }
    forms = set(spellings)
    for spelled in spellings:
        for cut in range(1, len(spelled) - MIN_PIECE + 1):
            forms.add(spelled[cut:])
            forms.add(spelled[:-cut])
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, forms: Iterable[str]) -> str:
    for form in forms:
        text = text.replace(form, MASK)
    return text


def install(argv: Sequence[str]) -> None:
    """Scrub the --password values in argv from every record from now on."""
    forms = [f for s in passwords_in(argv) for f in forms_of(s)]
    if not forms:
        return
    make_record = logging.getLogRecordFactory()

    def scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format: logging reports it later
            return record
        clean = scrub(message, forms)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, scrub(text, forms)
        return record

    logging.setLogRecordFactory(scrubbing_factory)
