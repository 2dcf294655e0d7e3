"""Every Python example in docs/clients.md runs, and prints exactly the output the page shows after it."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


@dataclass(frozen=True)
class Snippet:
    section: str
    line: int
    code: str
    output: str | None


def snippets(text: str) -> list[Snippet]:
    """Python blocks with their section heading and the ```text block that follows (its output), if any."""
    found: list[Snippet] = []
    blocks = list(FENCE.finditer(text))
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        heading = [h for h in re.findall(r"^#{2,3} (.+)$", text[: block.start()], re.M)] or ["(top)"]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        between = text[block.end() : nxt.start()] if nxt else ""
        output = (
            nxt.group(2) if nxt and nxt.group(1) == "text" and between.strip() in ("", "Output:") else None
        )
        found.append(Snippet(heading[-1], text[: block.start()].count("\n") + 2, block.group(2), output))
    return found


SNIPPETS = snippets(DOC.read_text(encoding="utf-8"))


def test_every_vendor_has_an_example() -> None:
    assert {"Advalidation", "Invicti", "AppSpider", "ThreadFix", "Soda", "Async"} <= {
        s.section for s in SNIPPETS
    }
    assert all(s.output is not None for s in SNIPPETS)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.section.lower().replace(" ", "-") for s in SNIPPETS])
def test_example_runs_and_prints_what_the_page_shows(snippet: Snippet) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet.code, f"{DOC}:{snippet.line}", "exec"), {"__name__": "__docs__"})
    assert out.getvalue() == snippet.output, f"docs/clients.md line {snippet.line} ({snippet.section})"
