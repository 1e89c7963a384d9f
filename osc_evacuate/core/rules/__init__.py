"""Nova's rules per microversion, as data: every microversion fact the
tool relies on is a row here, and everything else derives from the rows.

evacuate.py: what an evacuate request carries and does per range, and the
choice of microversion for the user's options; services.py: how a compute
service is forced down, disabled and enabled; features.py: the other
facts (paging, tags, lock reasons...) and the microversions the reads use.
"""

from osc_evacuate.core.rules.evacuate import (
    EVACUATE_RULES,
    EvacuateRule,
    Requirement,
    choose_microversion,
    evacuate_body,
    requirements,
    rule_for,
    stops_itself_from,
    validate_options,
)
from osc_evacuate.core.rules.features import (
    FEATURES,
    Feature,
    lock_version,
    require_tags,
)
from osc_evacuate.core.rules.services import (
    SERVICE_RULES,
    ServiceRule,
    service_requests,
    service_version,
)

__all__ = [
    "EVACUATE_RULES",
    "FEATURES",
    "SERVICE_RULES",
    "EvacuateRule",
    "Feature",
    "Requirement",
    "ServiceRule",
    "choose_microversion",
    "evacuate_body",
    "lock_version",
    "require_tags",
    "requirements",
    "rule_for",
    "service_requests",
    "service_version",
    "stops_itself_from",
    "validate_options",
]
