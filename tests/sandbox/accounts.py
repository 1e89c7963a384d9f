"""Who the sandbox's Keystone knows: users, projects, roles, the region.

Shared by the Keystone process (keystone_server.py bootstraps them), the
sandbox (identity.py writes clouds.yaml and the auth_token options) and
the test helpers (rest.py logs in with them). No nova or keystone import.
The passwords are fixed: the sandbox is a local test cloud on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses

REGION = "RegionOne"

# Keystone's own default token lifetime ([token] expiration), seconds.
DEFAULT_TOKEN_LIFETIME = 3600
DOMAIN_ID = "default"
DOMAIN_NAME = "Default"

# Keystone's bootstrap makes these roles, each implying the next:
# admin > manager > member > reader (and service on its own).
ADMIN_ROLE = "admin"
MEMBER_ROLE = "member"
READER_ROLE = "reader"
SERVICE_ROLE = "service"

# The project that holds the services' own users, as on a deployed cloud.
SERVICE_PROJECT = "service"


@dataclasses.dataclass(frozen=True)
class Grant:
    """``user`` has ``role`` on ``project``."""

    user: str
    project: str
    role: str


# Users and their passwords. ``nova``, ``placement``, ``glance``,
# ``neutron`` and ``cinder`` are the services' users: the auth_token
# middleware in front of each API logs in with them to validate the
# tokens it is given.
PASSWORDS = {
    "admin": "sandbox-admin",
    "demo": "sandbox-demo",
    "reader": "sandbox-reader",
    "nova": "sandbox-nova",
    "placement": "sandbox-placement",
    "glance": "sandbox-glance",
    "neutron": "sandbox-neutron",
    "cinder": "sandbox-cinder",
}

# Projects, besides ``admin`` (made by Keystone's bootstrap).
PROJECTS = ("admin", "demo", SERVICE_PROJECT)

# Role assignments. ``admin`` is admin of both projects (an admin boots
# a demo server on a chosen host by logging in to project demo), and of
# the system (Keystone's bootstrap grants that too).
GRANTS = (
    Grant("admin", "admin", ADMIN_ROLE),
    Grant("admin", "demo", ADMIN_ROLE),
    Grant("demo", "demo", MEMBER_ROLE),
    Grant("reader", "demo", READER_ROLE),
    Grant("nova", SERVICE_PROJECT, SERVICE_ROLE),
    Grant("placement", SERVICE_PROJECT, SERVICE_ROLE),
    Grant("glance", SERVICE_PROJECT, SERVICE_ROLE),
    Grant("neutron", SERVICE_PROJECT, SERVICE_ROLE),
    Grant("cinder", SERVICE_PROJECT, SERVICE_ROLE),
)

# The APIs' own users, each validating the tokens its API is given.
SERVICE_USERS = tuple(g.user for g in GRANTS if g.role == SERVICE_ROLE)

# The clouds of clouds.yaml: name, user, project.
CLOUDS = (
    ("sandbox", "admin", "admin"),
    ("sandbox-demo", "demo", "demo"),
    ("sandbox-reader", "reader", "demo"),
)

# The catalog: service type, name, and the path of its endpoint under
# the sandbox's URL (the identity service's is Keystone's own URL).
SERVICES = (
    ("compute", "nova", "/v2.1"),
    ("placement", "placement", "/placement"),
    ("image", "glance", "/image"),
    ("network", "neutron", "/network"),
    ("block-storage", "cinder", "/volume/v3"),
)
# Each service has a public and an internal endpoint (the same URL: one
# host), and no admin one.
INTERFACES = ("public", "internal")
