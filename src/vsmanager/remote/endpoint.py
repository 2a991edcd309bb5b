"""Where the client commands connect and with which key; the user's config directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1alpha1"
KEY_FILE_NAME = "api-key"


class EndpointError(ValueError):
    """The URL or the key cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    key: str
    warning: str | None = None
    # Where the key came from, for messages that tell a terminal user what to change.
    key_source: str = "the key given"

    @property
    def api(self) -> str:
        return self.url + API_PREFIX

    @property
    def console_ws(self) -> str:
        scheme, rest = self.url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{API_PREFIX}/console/ws"

    def __repr__(self) -> str:  # never show the key, not even in a traceback
        return f"Endpoint(url={self.url!r})"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/vsmanager``, else ``~/.config/vsmanager``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vsmanager"


def normalize_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EndpointError(f"--url/VS_URL must be an http:// or https:// URL, e.g. {DEFAULT_URL}")
    if parts.query or parts.fragment:
        raise EndpointError("--url/VS_URL must not have a query or a fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def resolve_endpoint(
    url: str | None,
    key: str | None,
    key_file: str | None,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """The first of: ``--api-key``, ``--api-key-file``, ``VS_API_KEY``, ``VS_API_KEY_FILE``,
    the key file in the config directory."""
    env = os.environ if env is None else env
    base = normalize_url(url or env.get("VS_URL") or DEFAULT_URL)
    warning = None
    source = "the key from --api-key" if key is not None else None
    if key_file is not None:
        source = f"the key in {key_file} (--api-key-file)"
    if key is None and key_file is None:
        key = env.get("VS_API_KEY") or None
        key_file = None if key else env.get("VS_API_KEY_FILE") or None
        source = ("the key in VS_API_KEY" if key else
                  f"the key in {key_file} (VS_API_KEY_FILE)" if key_file else None)
    if key is None and key_file is None:
        default = config_dir(env) / KEY_FILE_NAME
        if default.is_file():
            key_file = str(default)
            source = f"the key in {default}"
    if key is None and key_file is not None:
        key, warning = _read_key_file(Path(key_file).expanduser())
    if not key:
        raise EndpointError(
            "no API key: set VS_API_KEY, pass --api-key-file FILE, or put the key in "
            f"{config_dir(env) / KEY_FILE_NAME}"
        )
    if not key.isascii() or not key.isprintable():
        raise EndpointError("the API key must be printable ASCII")
    return Endpoint(base, key, warning, source or "the key given")


def _read_key_file(path: Path) -> tuple[str, str | None]:
    try:
        key = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise EndpointError(f"cannot read the key file {path}: {exc}") from None
    warning = None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warning = f"the key file {path} is readable by others; chmod 600 it"
    return key, warning
