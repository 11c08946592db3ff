"""Where the commands find the server and the token: MARKETPLACE_URL and MARKETPLACE_TOKEN, else
the user's config file that `marketplace login` writes (readable by the user alone)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

URL_VARIABLE, TOKEN_VARIABLE = "MARKETPLACE_URL", "MARKETPLACE_TOKEN"


class NotLoggedIn(click.ClickException):
    pass


@dataclass(frozen=True)
class Login:
    url: str
    token: str | None


def config_path() -> Path:
    """$XDG_CONFIG_HOME/marketplace/config.json on Linux; each platform's own place elsewhere."""
    return Path(click.get_app_dir("marketplace")) / "config.json"


def save(login: Login, path: Path | None = None) -> Path:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before anything is written, so the token is never readable by others, even briefly;
    # an existing file is made 0600 too.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"url": login.url, "token": login.token}, file)
    return path


def _stored(path: Path) -> dict:
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from None
    return stored if isinstance(stored, dict) else {}


def current(path: Path | None = None) -> Login:
    """The environment first (scripts, CI), then the stored login."""
    stored = _stored(path or config_path())
    url = os.environ.get(URL_VARIABLE) or stored.get("url")
    if not url:
        raise NotLoggedIn(f"no server: set {URL_VARIABLE} (and {TOKEN_VARIABLE}), "
                          "or run `marketplace login --url URL --token TOKEN`")
    return Login(url=url, token=os.environ.get(TOKEN_VARIABLE) or stored.get("token"))
