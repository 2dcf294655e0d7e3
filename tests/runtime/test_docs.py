"""Every Python example in README.md and docs/clients.md runs, and prints exactly the output the page shows
after it."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = (ROOT / "README.md", ROOT / "docs" / "clients.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


@dataclass(frozen=True)
class Snippet:
    page: Path
    section: str
    line: int
    code: str
    output: str | None


def snippets(page: Path) -> list[Snippet]:
    """Python blocks with their section heading and the ```text block that follows (its output), if any."""
    text = page.read_text(encoding="utf-8")
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
        line = text[: block.start()].count("\n") + 2
        found.append(Snippet(page, heading[-1], line, block.group(2), output))
    return found


SNIPPETS = [s for page in PAGES for s in snippets(page)]


def test_readme_has_an_example_per_vendor_and_docs_the_rest() -> None:
    by_page = {page: {s.section for s in SNIPPETS if s.page == page} for page in PAGES}
    assert {"Advalidation", "Invicti", "AppSpider", "ThreadFix", "Soda"} <= by_page[PAGES[0]]
    assert {"Async", "Retries and errors"} <= by_page[PAGES[1]]
    assert all(s.output is not None for s in SNIPPETS)


@pytest.mark.parametrize(
    "snippet",
    SNIPPETS,
    ids=[f"{s.page.stem.lower()}-{s.section.lower().replace(' ', '-')}" for s in SNIPPETS],
)
def test_example_runs_and_prints_what_the_page_shows(
    snippet: Snippet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # examples write report files where they run
    out = io.StringIO()
    where = f"{snippet.page.relative_to(ROOT)}:{snippet.line}"
    with contextlib.redirect_stdout(out):
        exec(compile(snippet.code, where, "exec"), {"__name__": "__docs__"})
    assert out.getvalue() == snippet.output, f"{where} ({snippet.section})"
