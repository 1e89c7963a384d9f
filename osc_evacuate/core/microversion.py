"""API microversions as comparable values, on keystoneauth's discovery.

keystoneauth1.discover does the work: it reads a version document into
(major, minor) tuples (EndpointData's min_microversion and
max_microversion), prints them, and says whether one lies between two
(version_between). This module only gives those tuples a type that
orders, prints and parses a user's "2.29" strictly (keystoneauth would
also take "v2", "2" or "latest", which the commands treat apart).
"""

from __future__ import annotations

import dataclasses
import re

from keystoneauth1 import discover

_PATTERN = re.compile(r"^\s*(\d+)\.(\d+)\s*$")


@dataclasses.dataclass(frozen=True, order=True)
class Microversion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Microversion:
        """Parse "2.29"; raise ValueError on anything else."""
        match = _PATTERN.match(text)
        if not match:
            raise ValueError(f"not a compute microversion: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, version: tuple[int | float, ...]) -> Microversion:
        """From keystoneauth's (major, minor) tuple."""
        major, minor = (*version, 0)[:2]
        return cls(int(major), int(minor))

    @property
    def pair(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        return discover.version_to_string(self.pair)


def mv(text: str) -> Microversion:
    """Shorthand for literals in tables and tests."""
    return Microversion.parse(text)


@dataclasses.dataclass(frozen=True)
class VersionRange:
    """The microversions an API accepts (its version document's
    min_version and version)."""

    minimum: Microversion
    maximum: Microversion

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, Microversion):
            return False
        return discover.version_between(
            self.minimum.pair, self.maximum.pair, version.pair
        )

    def __str__(self) -> str:
        return f"{self.minimum} to {self.maximum}"
