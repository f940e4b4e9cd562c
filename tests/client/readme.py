"""The README's examples, found by their markers, so the tests run exactly what users read."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def example(marker: str) -> str:
    """The fenced block after `<!-- walkthrough:MARKER -->`."""
    text = README.read_text()
    found = re.search(rf"<!-- walkthrough:{marker} -->\n```\w*\n(.*?)\n```", text, re.DOTALL)
    if found is None:
        raise AssertionError(f"README.md has no example marked walkthrough:{marker}")
    return found.group(1)
