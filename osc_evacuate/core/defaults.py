"""The few values both the commands' parsers and the core need.

Here, apart, because OSC imports every command module for any command's
--help: the parsers must build without loading the core (see
tests/unit/test_startup.py). No imports.
"""

# Evacuate requests in flight at once. Masakari evacuates 3 at a time; a
# failed host's servers all hit the scheduler and conductor at once.
MAX_PARALLEL = 4

# --target-state: the values of models.TargetState.
PRESERVE = "preserve"  # ACTIVE stays ACTIVE, SHUTOFF stays SHUTOFF
STOPPED = "stopped"  # every server ends SHUTOFF
TARGET_STATES = (PRESERVE, STOPPED)

# The mass-failure guard (preflight.Guard): more hosts down than this, or
# more than this share of the enabled computes.
GUARD_MAX_HOSTS = 3
GUARD_MAX_FRACTION = 1 / 3
