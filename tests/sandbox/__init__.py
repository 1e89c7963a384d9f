"""The sandbox cloud: a real Nova and Placement in one process.

Nova's API (the stock osapi_compute paste app), conductor, scheduler and N
fake-driver computes run in ``python -m tests.sandbox --state-dir DIR``,
built the way Nova's functional tests are. The stock ``openstack`` CLI talks
to it through DIR/clouds.yaml (clouds ``sandbox`` and ``sandbox-demo``).

Modules: __main__ (entry point), server (HTTP and life cycle), cloud (the
Nova side; imports nova, so only inside the sandbox process), drivers (a
fake Ironic compute; imports nova too), router (Nova, Placement under
``/placement``, stand-ins), control (``/_sandbox`` control interface),
recorder (request log), faults (injected errors, lost answers, delays,
slow spawns), capacity (compute sizes and fills), auth (``user:project``
tokens), stubs (Glance and Keystone stand-ins). For tests and tools:
client (``Sandbox``: start, stop, control) and rest (``NovaAPI``,
``PlacementAPI``), which never import nova.
"""
