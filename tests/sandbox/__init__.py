"""The sandbox cloud: a real Nova and Placement in one process, and a real
Keystone in another.

Nova's API (the stock osapi_compute paste app), conductor, scheduler and N
fake-driver computes run in ``python -m tests.sandbox --state-dir DIR``,
built the way Nova's functional tests are; it starts Keystone (``python -m
tests.sandbox.keystone_server``) beside it. The stock ``openstack`` CLI
logs in to Keystone through DIR/clouds.yaml (clouds ``sandbox``,
``sandbox-demo`` and ``sandbox-reader``) and finds Nova in its catalog.

Modules: __main__ (entry point), server (HTTP and life cycle), cloud (the
Nova side; imports nova, so only inside the sandbox process), drivers (a
fake Ironic compute; imports nova too), router (Nova, Placement under
``/placement``, the image stand-in), control (``/_sandbox`` control
interface), recorder (request log), faults (injected errors, lost answers,
delays, slow spawns), capacity (compute sizes and fills), stubs (the
Glance stand-in), identity (Keystone's process, clouds.yaml and the
auth_token options), keystone_server (the Keystone process; imports
keystone, so only there), accounts (users, projects, roles, catalog). For
tests and tools: client (``Sandbox``: start, stop, control), rest
(``NovaAPI``, ``PlacementAPI``) and login (Keystone logins), which never
import nova or keystone.
"""
