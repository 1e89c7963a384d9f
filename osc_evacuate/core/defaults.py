"""Every tunable default, in one place: the parsers' and the core's.

Here, apart, because OSC imports every command module for any command's
--help: the parsers must build without loading the core (see
tests/unit/test_startup.py). No imports. Nova's own facts (microversions)
are rules.py's; these are this tool's choices.
"""

# Evacuate requests in flight at once. Masakari evacuates 3 at a time; a
# failed host's servers all hit the scheduler and conductor at once.
MAX_PARALLEL = 4

# --max-parallel at most. Every request in flight is a rebuild the
# scheduler and conductor take on at once.
PARALLEL_CEILING = 32
# Reads a plan has in flight at once (host_reads.py, plan_reads.py).
READS_AT_ONCE = 10
# Requests a run has in flight to one host at most: the sends, and the
# polls and lock reads beside them. OSC's session keeps as many
# connections (plugin.py; requests keeps ten): past its pool, urllib3
# opens a connection it then discards, with a warning on stderr.
CONNECTIONS = PARALLEL_CEILING + READS_AT_ONCE

# --target-state: the values of models.TargetState.
PRESERVE = "preserve"  # ACTIVE stays ACTIVE, SHUTOFF stays SHUTOFF
STOPPED = "stopped"  # every server ends SHUTOFF
TARGET_STATES = (PRESERVE, STOPPED)

# The mass-failure guard (models.Guard): more hosts down than this, or
# more than this share of the enabled computes.
GUARD_MAX_HOSTS = 3
GUARD_MAX_FRACTION = 1 / 3

# --wait: the first pause between polls (seconds), growing by BACKOFF to
# MAX_INTERVAL while nothing changes.
POLL_INTERVAL = 0.5
POLL_MAX_INTERVAL = 10.0
POLL_BACKOFF = 1.5
# The pause between polls while requests are still going out: each poll
# reads what changed, and competes with the evacuations for Nova's API.
POLL_SENDING_INTERVAL = 5.0
# Seconds without progress (or without an answer from Nova) after which
# waiting on would be hanging. A rebuild copies the image to its host, so
# minutes without a change of record are normal; ten are not.
STUCK_AFTER = 600.0

# Transient errors (no answer, 5xx, 429, 409 on a task_state): tried this
# many times in all, pausing FIRST_DELAY, then FACTOR times longer, at
# most MAX_DELAY seconds.
RETRY_ATTEMPTS = 4
RETRY_FIRST_DELAY = 1.0
RETRY_FACTOR = 2.0
RETRY_MAX_DELAY = 8.0

# Seconds Nova's hosts' clocks may differ (the API's Date, a compute's
# `updated`): a one-off look back over Nova's timestamps (the servers an
# earlier run evacuated) reaches this far further back.
CLOCK_SKEW = 60.0
# The servers polls' window: each starts this many seconds before Nova's
# time of the poll before it. NTP keeps hosts well within it; a compute
# further behind is caught by reading its landed servers one by one.
POLL_OVERLAP = 2.0

# host drain's --disable-reason, by default: the scheduler keeps off it.
DRAIN_REASON = "osc-evacuate: draining for maintenance"

# Seconds a --fence-command or --fence-check may take (fence-agents' own
# power timeouts are 20 s and less, with retries).
FENCE_TIMEOUT = 120.0
