"""The core's typed values, one import away.

cloud.py: what the cloud holds (servers, services, records); job.py: what
the operator asks (options, policies, filters, the Request); rows.py: what
a run plans and reports (PlannedRow, ServerOutcome, Plan, Report).
"""

from osc_evacuate.core.models.cloud import (
    EVACUABLE_VM_STATES,
    IRONIC,
    MIGRATION_DONE,
    MIGRATION_FAILED,
    MIGRATION_SUCCEEDED,
    ComputeService,
    Flavor,
    Hypervisor,
    Image,
    Migration,
    Room,
    Server,
    ServerDetail,
    ServiceRequest,
)
from osc_evacuate.core.models.job import (
    EvacuateOptions,
    Guard,
    Request,
    RetryPolicy,
    ServerFilter,
    TargetState,
    WaitPolicy,
)
from osc_evacuate.core.models.rows import (
    NOT_NEEDED,
    SCHEDULER,
    Action,
    CapacityCheck,
    Fit,
    HostChange,
    LockState,
    Plan,
    PlannedRow,
    Progress,
    Report,
    Result,
    ServerOutcome,
)

__all__ = [
    "EVACUABLE_VM_STATES",
    "IRONIC",
    "MIGRATION_DONE",
    "MIGRATION_FAILED",
    "MIGRATION_SUCCEEDED",
    "NOT_NEEDED",
    "SCHEDULER",
    "Action",
    "CapacityCheck",
    "ComputeService",
    "EvacuateOptions",
    "Fit",
    "Flavor",
    "Guard",
    "HostChange",
    "Hypervisor",
    "Image",
    "LockState",
    "Migration",
    "Plan",
    "PlannedRow",
    "Progress",
    "Report",
    "Request",
    "Result",
    "RetryPolicy",
    "Room",
    "Server",
    "ServerDetail",
    "ServerFilter",
    "ServerOutcome",
    "ServiceRequest",
    "TargetState",
    "WaitPolicy",
]
