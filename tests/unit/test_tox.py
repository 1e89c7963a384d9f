"""tox.ini and the Makefile run the same checks.

Each tox environment that OpenStack contributors reach for (``tox -e
pep8``, ``py3``, ``functional``, ``docs``, ``releasenotes``) runs the
commands of one Makefile target, less the ``$(BIN)/`` prefix: a change to
one without the other fails here.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Each tox environment, and the Makefile target whose commands it runs.
TARGETS = {
    "pep8": "lint",
    "py3": "unit",
    "functional": "functional",
    "docs": "docs",
    "releasenotes": "releasenotes",
}

# tox runs each command without a shell: these would reach the program
# as arguments.
SHELL_SYNTAX = re.compile(r"^(?:[0-9]?>.*|<.*|\||&&|\|\||;|&)$")
TOX_ENV_VAR = re.compile(r"^\{env:(\w+):([^}]*)\}$")
MAKE_TARGET = re.compile(r"^([\w.-]+):(?!=)(.*)$")
MAKE_DEFAULT = re.compile(r"^(\w+)\s*\?=\s*(.*?)\s*$")

Command = list[str]


def read_tox() -> configparser.ConfigParser:
    tox = configparser.ConfigParser(interpolation=None)
    with (ROOT / "tox.ini").open(encoding="utf-8") as f:
        tox.read_file(f)
    return tox


def tox_section(tox: configparser.ConfigParser, env: str) -> str:
    """The section that gives ``env`` its commands: its own, or
    ``[testenv]``, which tox falls back to."""
    own = f"testenv:{env}"
    if tox.has_option(own, "commands"):
        return own
    return "testenv"


def tox_lines(
    tox: configparser.ConfigParser, section: str, key: str
) -> list[str]:
    value = tox.get(section, key)
    return [line.strip() for line in value.splitlines() if line.strip()]


def tox_command(line: str) -> Command:
    """A tox command as Make spells it: ``{posargs}`` dropped (Make has
    none) and ``{env:NAME:DEFAULT}`` as ``$(NAME)``."""
    words = []
    for word in line.split():
        if word == "{posargs}":
            continue
        match = TOX_ENV_VAR.match(word)
        words.append(f"$({match.group(1)})" if match else word)
    return words


def tox_env_defaults(tox: configparser.ConfigParser) -> dict[str, str]:
    """``{env:NAME:DEFAULT}`` of every environment's commands."""
    out = {}
    for env in TARGETS:
        for line in tox_lines(tox, tox_section(tox, env), "commands"):
            for word in line.split():
                match = TOX_ENV_VAR.match(word)
                if match:
                    out[match.group(1)] = match.group(2)
    return out


def read_makefile() -> tuple[dict[str, str], dict[str, list[str]]]:
    """The Makefile's targets (name: the prerequisites, as written) and
    their recipes (name: the recipe's lines)."""
    prerequisites: dict[str, str] = {}
    recipes: dict[str, list[str]] = {}
    current = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t"):
            if current is not None:
                recipes[current].append(line.strip())
            continue
        match = MAKE_TARGET.match(line)
        current = match.group(1) if match else None
        if match:
            prerequisites[match.group(1)] = match.group(2).strip()
            recipes[match.group(1)] = []
    return prerequisites, recipes


def make_defaults() -> dict[str, str]:
    """``NAME ?= DEFAULT`` of the Makefile."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        match = MAKE_DEFAULT.match(line)
        if match:
            out[match.group(1)] = match.group(2)
    return out


def make_command(line: str) -> Command:
    """A recipe line as tox spells it: without ``$(BIN)/``."""
    words = line.split()
    assert words[0].startswith("$(BIN)/"), (
        f"{line!r}: a target tox mirrors runs the venv's programs"
    )
    return [words[0].removeprefix("$(BIN)/"), *words[1:]]


@pytest.mark.parametrize(("env", "target"), sorted(TARGETS.items()))
def test_environment_runs_its_targets_commands(env: str, target: str) -> None:
    tox = read_tox()
    _, recipes = read_makefile()
    assert target in recipes, f"make {target} is gone; tox -e {env} runs it"
    lines = tox_lines(tox, tox_section(tox, env), "commands")
    for line in lines:
        shell = [w for w in line.split() if SHELL_SYNTAX.match(w)]
        assert not shell, f"tox runs no shell: {shell} in {line!r}"
    assert [tox_command(line) for line in lines] == [
        make_command(line) for line in recipes[target]
    ], f"tox -e {env} and make {target} run different commands"


def test_every_environment_mirrors_a_target() -> None:
    tox = read_tox()
    envs = {
        section.removeprefix("testenv:")
        for section in tox.sections()
        if section.startswith("testenv:")
    }
    assert envs <= set(TARGETS), f"map {envs - set(TARGETS)} to targets"


def test_tox_defaults_are_makes() -> None:
    # {env:WORKERS:2} in tox.ini, WORKERS ?= 2 in the Makefile.
    tox_defaults = tox_env_defaults(read_tox())
    assert "WORKERS" in tox_defaults, "tox -e functional takes WORKERS"
    defaults = make_defaults()
    for name, value in tox_defaults.items():
        assert defaults.get(name) == value, (
            f"{name}: tox's default {value!r}, make's {defaults.get(name)!r}"
        )


def test_environments_install_what_make_venv_does() -> None:
    tox = read_tox()
    deps = [
        line.removeprefix("-r").replace("{toxinidir}/", "")
        for line in tox_lines(tox, "testenv", "deps")
    ]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [install] = [
        line.split()
        for line in makefile.splitlines()
        if "pip install" in line and " -r " in line
    ]
    files = [install[i + 1] for i, word in enumerate(install) if word == "-r"]
    assert deps == files, "tox.ini's deps are not make venv's -r files"
    for section in tox.sections():
        assert section == "testenv" or not tox.has_option(section, "deps"), (
            f"[{section}] installs other packages than make venv"
        )


def test_bare_tox_runs_what_make_test_runs() -> None:
    tox = read_tox()
    envlist = [env.strip() for env in tox.get("tox", "envlist").split(",")]
    prerequisites, recipes = read_makefile()
    # make test: its prerequisites, then pytest of all of tests/ (unit
    # and functional).
    assert set(prerequisites["test"].split()) == {"lint", "docs"}
    assert [make_command(line)[-1] for line in recipes["test"]] == ["tests"]
    assert sorted(TARGETS[env] for env in envlist) == sorted(
        ["lint", "docs", "unit", "functional"]
    ), "tox (no -e) runs other checks than make test"
