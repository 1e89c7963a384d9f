"""Logins to the sandbox's Keystone for the test helpers (rest.py).

A Login is a user's password login to one project, through keystoneauth
as every OpenStack client does it: its token is cached and renewed once
it is about to expire (keystoneauth's own margin, two minutes). No nova
or keystone import.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.sandbox import accounts


class Login:
    """``user`` logged in to ``project`` at Keystone's ``auth_url``."""

    # One login per user and project: helpers made for the same pair
    # share its token instead of logging in again.
    _known: ClassVar[dict[tuple[str, str, str], Login]] = {}
    _known_lock = threading.Lock()

    def __init__(self, auth_url: str, user: str, project: str) -> None:
        self.auth_url = auth_url
        self.user = user
        self.project = project
        self._auth = v3.Password(
            auth_url=auth_url,
            username=user,
            password=accounts.PASSWORDS[user],
            project_name=project,
            user_domain_id=accounts.DOMAIN_ID,
            project_domain_id=accounts.DOMAIN_ID,
        )
        # keystoneauth's plugin locks its own renewal; the session is
        # only for talking to Keystone.
        self._session = ks_session.Session(auth=self._auth)

    @classmethod
    def of(cls, auth_url: str, user: str, project: str) -> Login:
        """The shared login of ``user`` to ``project``."""
        key = (auth_url, user, project)
        with cls._known_lock:
            login = cls._known.get(key)
            if login is None:
                login = cls._known[key] = cls(auth_url, user, project)
            return login

    def token(self) -> str:
        """A valid token: the cached one, or a new one if it is about to
        expire."""
        token = self._session.get_token()
        assert token is not None
        return token

    def invalidate(self) -> None:
        """Forget the token: the next call logs in again."""
        self._auth.invalidate()

    @property
    def project_id(self) -> str:
        project_id = self._auth.get_project_id(self._session)
        assert project_id is not None
        return project_id

    @property
    def user_id(self) -> str:
        user_id = self._auth.get_user_id(self._session)
        assert user_id is not None
        return user_id

    def __repr__(self) -> str:
        return f"Login({self.user!r} in {self.project!r})"
