"""Compute API microversions as comparable values."""

from __future__ import annotations

import dataclasses
import re

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

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def mv(text: str) -> Microversion:
    """Shorthand for literals in tables and tests."""
    return Microversion.parse(text)


@dataclasses.dataclass(frozen=True)
class VersionRange:
    """The microversions a cloud's compute API accepts."""

    minimum: Microversion
    maximum: Microversion

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, Microversion):
            return False
        return self.minimum <= version <= self.maximum

    def __str__(self) -> str:
        return f"{self.minimum} to {self.maximum}"
