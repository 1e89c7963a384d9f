"""The evacuate body expected per microversion and options: one table for
the rules test and the wire test."""

from __future__ import annotations

from osc_evacuate.core.models import EvacuateOptions

BODIES: list[tuple[str, EvacuateOptions, dict[str, object]]] = [
    ("2.1", EvacuateOptions(), {"onSharedStorage": False}),
    (
        "2.13",
        EvacuateOptions(host="c2", shared_storage=True),
        {"host": "c2", "onSharedStorage": True},
    ),
    (
        "2.13",
        EvacuateOptions(password="s3cret"),
        {"onSharedStorage": False, "adminPass": "s3cret"},
    ),
    ("2.14", EvacuateOptions(), {}),
    ("2.28", EvacuateOptions(host="c2"), {"host": "c2"}),
    ("2.29", EvacuateOptions(host="c2"), {"host": "c2"}),
    (
        "2.29",
        EvacuateOptions(host="c2", force=True),
        {"host": "c2", "force": True},
    ),
    (
        "2.67",
        EvacuateOptions(host="c2", force=True),
        {"host": "c2", "force": True},
    ),
    ("2.68", EvacuateOptions(host="c2"), {"host": "c2"}),
    ("2.94", EvacuateOptions(password="pw"), {"adminPass": "pw"}),
    ("2.95", EvacuateOptions(), {}),
    ("2.104", EvacuateOptions(host="c2"), {"host": "c2"}),
]
