"""MkDocs hook: pages that say ``<!-- readme: Heading -->`` get that section of README.md.

The README is the one place the user guide and the CLI reference are written (its examples are
run by tests/test_docs.py); the site shows the same sections instead of a copy that drifts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = re.compile(r"<!-- readme: (?P<heading>[^>]+?) -->")


def section(text: str, heading: str) -> str:
    """The ``## heading`` section of ``text``, up to the next ``## `` heading, its level raised
    by one (the page has its own title)."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    if match is None:
        raise ValueError(f"README.md has no section '## {heading}'")
    body = match.group(1)
    # Links into the docs folder are relative to the repository root in the README.
    return body.replace("](docs/", "](")


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    if "<!-- readme:" not in markdown:
        return markdown
    text = README.read_text()
    return MARKER.sub(lambda m: section(text, m.group("heading").strip()), markdown)
