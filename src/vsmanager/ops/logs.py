"""Logging for vsmanager and uvicorn: one line per event, a stable event name with key/value
fields, as JSON (``VS_LOG_FORMAT=json``) or for people (``console``); by default console on a
terminal and JSON otherwise.

Two rules hold for the final line, whatever produced it (our events, uvicorn's access log,
a traceback): no key is in it, and no field can start a line of its own. So redaction runs on
the formatted line, percent-encoding included, and every value is escaped before that.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal
from urllib.parse import unquote_plus

import structlog

from vsmanager.access.redaction import REDACTED, Digests, KeyRedactor

LogFormat = Literal["auto", "json", "console"]

# Query parameters whose value is a credential, by decoded name (so api%5Fkey counts).
_SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "ticket", "token", "access_token"})
# Values stop at a backslash too: in a JSON line, \" ends the string, not the value.
_QUERY_PARAM = re.compile(r"(?<=[?&;])([^=&\s\"'#\\]+)=([^&\s\"'#\\]*)")
_CREDENTIAL_HEADER = re.compile(
    r"(x-api-key|authorization)([\"']?\s*[:=]\s*[\"']?)((?:bearer\s+)?)([^\s\"',}\\]+)", re.IGNORECASE
)


class Redactor:
    """Removes credentials from a finished log line: the values of credential parameters and
    headers, whatever they hold, and every key vsmanager knows in any spelling (``secrets``
    it holds, and keys known by their hash through ``digests``: see
    :mod:`vsmanager.access.redaction`)."""

    def __init__(self, secrets: Iterable[str] = (), digests: Digests | None = None) -> None:
        self.keys = KeyRedactor(secrets, digests)

    def __call__(self, line: str) -> str:
        line = _QUERY_PARAM.sub(self._param, line)
        line = _CREDENTIAL_HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{REDACTED}", line)
        return self.keys(line)

    def _param(self, match: re.Match[str]) -> str:
        name = unquote_plus(match[1]).strip().lower()
        if name in _SECRET_PARAMS and match[2]:
            return f"{match[1]}={REDACTED}"
        return match[0]


def escape(text: str) -> str:
    """Control characters, line and paragraph separators, non-ASCII spaces and invisible
    format characters (bidi overrides) as escapes: what is left cannot break or fake a line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape_char(c) for c in text)


def _escape_char(c: str) -> str:
    special = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if c in special:
        return special[c]
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def console_value(value: object) -> str:
    """A value as ``key=value`` shows it: bare when that is unambiguous, else Python's repr,
    which quotes and escapes everything not printable (U+2028 and bidi controls included)."""
    text = value if isinstance(value, str) else str(value)
    if text and text.isprintable() and not any(c in text for c in " =\"'\\"):
        return text
    return repr(text)


class _Formatter(logging.Formatter):
    def __init__(self, redact: Redactor, max_path_chars: int | None = None) -> None:
        super().__init__()
        self.redact = redact
        self.max_path_chars = max_path_chars

    def format(self, record: logging.LogRecord) -> str:
        event, fields = _event_of(record)
        if event == "http_request" and self.max_path_chars is not None:
            fields["path"] = self._cut(str(fields["path"]))
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return self.redact(self.render(record, event, fields))

    def render(self, record: logging.LogRecord, event: str, fields: dict[str, Any]) -> str:
        raise NotImplementedError

    def _cut(self, path: str) -> str:
        # Redacted before it is cut, so no cut can leave the first half of a key behind.
        limit = self.max_path_chars
        if limit is None or len(path) <= limit:
            return path
        path = self.redact(path)
        return path if len(path) <= limit else f"{path[:limit]}...[{len(path)} chars]"


class JsonFormatter(_Formatter):
    """One JSON object per line; ``ensure_ascii`` escapes every separator a reader could trip on."""

    def render(self, record: logging.LogRecord, event: str, fields: dict[str, Any]) -> str:
        head = {"ts": _timestamp(record), "level": record.levelname.lower(), "logger": record.name,
                "event": event}
        return json.dumps({**head, **fields}, default=str, ensure_ascii=True)


class ConsoleFormatter(_Formatter):
    """``time level logger event key=value ...``: readable by people and by grep."""

    def render(self, record: logging.LogRecord, event: str, fields: dict[str, Any]) -> str:
        parts = [_timestamp(record), record.levelname.lower(), record.name, escape(event)]
        parts += [f"{escape(k)}={console_value(v)}" for k, v in fields.items()]
        return " ".join(parts)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_of(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """Our events carry their name as the message; uvicorn's get one here."""
    fields = {k: v for k, v in record.__dict__.items()
              if k not in _STANDARD_ATTRS and not k.startswith("_") and k not in _DROPPED}
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        return "http_request", {"client": client, "method": method, "path": path,
                                "http_version": version, "status": status, **fields}
    if record.name.startswith("uvicorn"):
        return "uvicorn", {"message": record.getMessage(), **fields}
    return record.getMessage(), fields


_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_DROPPED = {"timestamp", "level", "color_message", "taskName"}


def _keep_reserved_names(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # A field named like a LogRecord attribute ("message", "args", ...) would make the stdlib
    # refuse the whole record (a KeyError at the call site): carry it under a suffix.
    for name in [k for k in event if k in _STANDARD_ATTRS and k != "event"]:
        event[f"{name}_"] = event.pop(name)
    return event


def resolve_format(fmt: LogFormat, stream: Any = None) -> Literal["json", "console"]:
    if fmt != "auto":
        return fmt
    stream = stream if stream is not None else sys.stderr
    return "console" if getattr(stream, "isatty", lambda: False)() else "json"


def configure_logging(
    level: str = "info",
    secrets: list[str] | None = None,
    fmt: LogFormat = "auto",
    digests: Digests | None = None,
    *,
    access: logging.Filter | None = None,
    max_path_chars: int | None = None,
) -> dict[str, Any]:
    """Set up structlog and stdlib logging; return the log config uvicorn should use.
    ``access`` filters every line (:class:`~vsmanager.ops.accesslog.AccessLogFilter`);
    request paths longer than ``max_path_chars`` are cut."""
    numeric = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _keep_reserved_names,
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    redact = Redactor(secrets or [], digests)
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter if resolve_format(fmt) == "json" else ConsoleFormatter
    handler.setFormatter(formatter(redact, max_path_chars))
    if access is not None:
        handler.addFilter(access)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def set_known_digests(digests: Digests | None) -> None:
    """Let every handler we set up recognise the keys known only by their hash (the key ring's)."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, _Formatter):
            formatter.redact.keys.digests = digests
