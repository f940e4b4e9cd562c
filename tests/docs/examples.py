"""The examples of a documentation page, as one shell script that runs them in order."""

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
RUN = {"sh", "python"}
PYTHON_END = "ADAPTD_PYTHON_EXAMPLE"


@dataclass(frozen=True)
class Example:
    language: str
    code: str


def examples(page: Path) -> list[Example]:
    """Every `sh` and `python` block; other fences (text, json) are shown, not run."""
    return [
        Example(language, code)
        for language, code in FENCE.findall(page.read_text())
        if language in RUN
    ]


def pages_with_examples() -> list[Path]:
    return sorted(page for page in DOCS.glob("*.md") if examples(page))


def as_script(page: Path) -> str:
    parts = ["set -euo pipefail"]
    for example in examples(page):
        if example.language == "sh":
            parts.append(example.code)
        else:
            parts.append(f'python - <<"{PYTHON_END}"\n{example.code}{PYTHON_END}')
    return "\n".join(parts) + "\n"
