"""The sandbox's side of Keystone: start and stop its process, and say
how the APIs and the clients reach it.

Keystone runs in a process of its own (keystone_server.py says why);
this module, imported by the sandbox's Nova process, never imports
keystone. It writes Keystone's config, the clouds.yaml a user would
have (password auth, Keystone's catalog, no endpoint override) and
Nova's paste config with the options of its auth_token filter; and it
gives the same options to the auth_token in front of Placement and the
image stand-in.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.sandbox import accounts

REPO_ROOT = Path(__file__).resolve().parents[2]

# bcrypt's fewest rounds: each password login (every CLI command) costs
# about a millisecond instead of a quarter of a second at the default 12.
PASSWORD_HASH_ROUNDS = 4

KEYSTONE_CONF = """\
[DEFAULT]
log_file = {dir}/keystone.log

[database]
connection = sqlite:///{dir}/keystone.db
# A throw-away database: no fsync at each of the bootstrap's commits.
sqlite_synchronous = false

[fernet_tokens]
key_repository = {dir}/fernet-keys

[fernet_receipts]
key_repository = {dir}/fernet-keys

[token]
expiration = {token_lifetime}

[identity]
password_hash_rounds = {rounds}

# Keystone's own cache, in its process: a token it validated once (each
# API's auth_token asks it for every new token), the roles and the
# catalog are answered from memory. Nothing changes them once it serves.
[cache]
enabled = true
backend = dogpile.cache.memory
"""

# The line of Nova's api-paste.ini after which the auth_token filter's
# options go (its local conf).
AUTHTOKEN_FACTORY = (
    "paste.filter_factory = keystonemiddleware.auth_token:filter_factory"
)


class KeystoneError(RuntimeError):
    """Keystone failed to start."""


def listen(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (``port`` 0: a free one)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    return listener


def url_of(listener: socket.socket) -> str:
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def password_login(auth_url: str, user: str, project: str) -> str:
    """A token of ``user`` in ``project``, by password."""
    scope = {"name": project, "domain": {"id": accounts.DOMAIN_ID}}
    body: dict[str, Any] = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": user,
                        "domain": {"id": accounts.DOMAIN_ID},
                        "password": accounts.PASSWORDS[user],
                    }
                },
            },
            "scope": {"project": scope},
        }
    }
    resp = requests.post(f"{auth_url}/auth/tokens", json=body, timeout=30)
    if resp.status_code != 201:
        raise KeystoneError(f"{user} cannot log in: {resp.status_code}")
    return str(resp.headers["X-Subject-Token"])


class Keystone:
    """The sandbox's Keystone process, in ``<state_dir>/keystone``."""

    def __init__(
        self,
        state_dir: Path,
        services_url: str,
        token_lifetime: int = accounts.DEFAULT_TOKEN_LIFETIME,
        python: str = sys.executable,
    ) -> None:
        self.dir = state_dir / "keystone"
        self.services_url = services_url
        self.token_lifetime = token_lifetime
        self.python = python
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        # Ids Keystone gave: {"projects": {name: id}, "users": {...}}.
        self.ids: dict[str, dict[str, str]] = {}

    @property
    def auth_url(self) -> str:
        return f"{self.url}/v3"

    def start(self) -> None:
        """Start the process; its URL is known at once (the socket is
        bound here), it serves once ready() says so."""
        # Every start is a new cloud, as Nova's databases are.
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        config = self.dir / "keystone.conf"
        config.write_text(
            KEYSTONE_CONF.format(
                dir=self.dir,
                token_lifetime=self.token_lifetime,
                rounds=PASSWORD_HASH_ROUNDS,
            )
        )
        listener = listen()
        self.url = url_of(listener)
        fd = listener.fileno()
        with open(self.dir / "stderr.log", "wb") as stderr:
            self.process = subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "tests.sandbox.keystone_server",
                    "--config-file",
                    str(config),
                    "--fd",
                    str(fd),
                    "--url",
                    self.url,
                    "--services-url",
                    self.services_url,
                    "--parent-pid",
                    str(os.getpid()),
                ],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                pass_fds=(fd,),
            )
        # The process has its own copy.
        listener.close()

    def wait_ready(
        self, timeout: float, sleep: Callable[[float], Any] = time.sleep
    ) -> None:
        """Until Keystone has its accounts and serves (``sleep``: the
        caller's, a green one in the sandbox)."""
        done = self.dir / "identity.json"
        deadline = time.monotonic() + timeout
        while not done.exists():
            if self.process is None or self.process.poll() is not None:
                raise KeystoneError(
                    "Keystone exited before it was ready: see "
                    f"{self.dir}/stderr.log and keystone.log"
                )
            if time.monotonic() > deadline:
                raise KeystoneError(f"Keystone not ready after {timeout} s")
            sleep(0.05)
        self.ids = json.loads(done.read_text())
        self._warm_up(deadline, sleep)

    def _warm_up(self, deadline: float, sleep: Callable[[float], Any]) -> None:
        """Each service user validates a token once before any API serves:
        Keystone's first validation by a new caller now and then answers
        403 (identity:validate_token), and the auth_token middleware would
        turn that into a 503 for the request it was checking."""
        subject = password_login(self.auth_url, "admin", "admin")
        for user in accounts.SERVICE_USERS:
            caller = password_login(
                self.auth_url, user, accounts.SERVICE_PROJECT
            )
            while True:
                resp = requests.get(
                    f"{self.auth_url}/auth/tokens",
                    headers={
                        "X-Auth-Token": caller,
                        "X-Subject-Token": subject,
                    },
                    timeout=30,
                )
                if resp.status_code == 200:
                    break
                if time.monotonic() > deadline:
                    raise KeystoneError(
                        f"{user} cannot validate tokens: {resp.status_code}"
                    )
                sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def authtoken_options(self, service_user: str) -> dict[str, str]:
        """keystonemiddleware auth_token's options for an API whose
        service user is ``service_user``: it logs in with that user to
        validate the tokens it is given (and caches what it learns in
        the process: no memcached)."""
        return {
            "www_authenticate_uri": self.url,
            "auth_url": self.auth_url,
            "auth_type": "password",
            "username": service_user,
            "password": accounts.PASSWORDS[service_user],
            "project_name": accounts.SERVICE_PROJECT,
            "user_domain_id": accounts.DOMAIN_ID,
            "project_domain_id": accounts.DOMAIN_ID,
            "region_name": accounts.REGION,
            "interface": "internal",
            "service_token_roles_required": "true",
        }

    def nova_paste_config(self, nova_paste: Path, target: Path) -> Path:
        """Nova's own api-paste.ini with the auth_token filter's options
        added, written to ``target``, as a deployer configures it."""
        text = nova_paste.read_text()
        if text.count(AUTHTOKEN_FACTORY) != 1:
            raise KeystoneError(
                f"{nova_paste}: no single auth_token filter to configure"
            )
        options = "".join(
            f"\n{key} = {value}"
            for key, value in self.authtoken_options("nova").items()
        )
        target.write_text(
            text.replace(AUTHTOKEN_FACTORY, AUTHTOKEN_FACTORY + options)
        )
        return target

    def clouds_yaml(self) -> str:
        """The clouds the sandbox's users log in to, as a user's
        clouds.yaml has them."""
        clouds = [
            f"""  {name}:
    auth_type: password
    auth:
      auth_url: {self.auth_url}
      username: {user}
      password: {accounts.PASSWORDS[user]}
      project_name: {project}
      user_domain_name: {accounts.DOMAIN_NAME}
      project_domain_name: {accounts.DOMAIN_NAME}
    region_name: {accounts.REGION}
    identity_api_version: 3
"""
            for name, user, project in accounts.CLOUDS
        ]
        return "clouds:\n" + "".join(clouds)
