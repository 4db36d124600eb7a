"""Every concrete ``kp3d-vo`` command line in README.md parses with the current CLI (issue 13 #8), and the
README links the bad-input table. Lines with placeholders (``[...]``, ``a|b``, ``<name>``) are syntax
summaries and are skipped; the walk-through's commands were run by hand (see the commit)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)  # continuation lines
        for line in joined.splitlines():
            line = line.strip()
            if line.startswith("kp3d-vo ") and not re.search(r"[\[|<]", line.split("#")[0]):
                commands.append(line)
    return commands


def test_readme_has_the_walkthrough_commands():
    commands = readme_commands()
    assert len(commands) >= 12
    for sub in ("run", "evaluate", "plot", "synth", "adapt", "eval-keypoints", "export"):
        assert any(c.split()[1] == sub for c in commands), f"README shows no concrete `kp3d-vo {sub}`"
    text = README.read_text(encoding="utf-8")
    assert "## First run on your own video" in text
    assert "(docs/BAD_INPUTS.md)" in text and (REPO / "docs" / "BAD_INPUTS.md").is_file()


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_parses(command):
    from apps.cli import build_parser

    argv = shlex.split(command, comments=True)[1:]
    try:
        build_parser(argv).parse_args(argv)
    except SystemExit as exc:  # argparse reports the problem on stderr
        pytest.fail(f"README command does not parse ({exc.code}): {command}")
