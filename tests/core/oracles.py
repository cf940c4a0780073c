"""Each generated language's own parser, as the oracle of the hostile-input tests: a value
either stays inside the place it was written to and shows verbatim, or the check fails."""

from __future__ import annotations

import html
from html.parser import HTMLParser

from markdown_it import MarkdownIt

# CommonMark with GitHub's tables and strikethrough: what the generated READMEs are read with.
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def markdown_text(source: str) -> str:
    """The text a reader sees in rendered Markdown (markup gone, entities decoded)."""
    parser = _Text()
    parser.feed(MARKDOWN.render(source))
    parser.close()
    return "".join(parser.parts)


def markdown_blocks(source: str) -> list[str]:
    """The block structure of a Markdown document: one entry per block token (headings, lists,
    fences, tables...), so that a value that opens or closes a block changes it."""
    return [t.type for t in MARKDOWN.parse(source) if t.type != "inline"]


def markdown_codes(source: str) -> list[str]:
    """The contents of every code span and fenced or indented block, as a reader sees them."""
    out = []
    for token in MARKDOWN.parse(source):
        if token.type in ("fence", "code_block"):
            out.append(token.content)
        for child in token.children or ():
            if child.type == "code_inline":
                out.append(child.content)
    return out


def unescape(text: str) -> str:
    return html.unescape(text)


def markdown_view(source: str) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
    """(text, code contents, block structure, fences as (info, content)) from one parse."""
    tokens = MARKDOWN.parse(source)
    parser = _Text()
    parser.feed(MARKDOWN.renderer.render(tokens, MARKDOWN.options, {}))
    parser.close()
    codes, fences = [], []
    for token in tokens:
        if token.type in ("fence", "code_block"):
            codes.append(token.content)
            fences.append((token.info.strip(), token.content))
        for child in token.children or ():
            if child.type == "code_inline":
                codes.append(child.content)
    return "".join(parser.parts), codes, [t.type for t in tokens if t.type != "inline"], fences
