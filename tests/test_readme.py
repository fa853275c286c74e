"""The README is the user's manual: every command and option the CLI offers is in it, and it
opens with exactly the two set-up commands .ci/run uses."""

from __future__ import annotations

import re
from pathlib import Path

import click

from trustwatch.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((prefix + name, cmd))
        if isinstance(cmd, click.Group):
            out.extend(commands(cmd, prefix + name + " "))
    return out


def test_every_command_is_in_the_readme() -> None:
    for name, _cmd in commands(main):
        assert f"trustwatch {name}" in README, f"README never shows 'trustwatch {name}'"


def test_every_option_is_in_the_readme() -> None:
    options = [o for p in main.params for o in getattr(p, "opts", [])
               if o.startswith("--") and o != "--help"]
    for _name, cmd in commands(main):
        options += [o for p in cmd.params for o in getattr(p, "opts", []) if o.startswith("-")]
    missing = sorted({o for o in options if o not in README})
    assert not missing, f"options missing from README: {missing}"


def test_readme_opens_with_the_two_setup_commands_ci_runs() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)
    assert blocks[0] == "pip install -e . && trustwatch demo"
    assert blocks[1] == "pip install -e '.[test]' && python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "Run the whole test suite" in ci or "README" in ci
