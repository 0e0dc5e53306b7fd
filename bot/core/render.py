"""Every reply is written once, in Markdown, and rendered here: to the plain `body` every client
shows and to the HTML `formatted_body` that rich clients show (only tags the Matrix spec
allows; no tables, which Element X does not render; no raw HTML, no images).

A `Markdown` value is source that is safe to render: the catalogue's templates, with every
value that came from outside (a title, a question, a name) escaped on the way in. Plain `str`
is never taken for Markdown, so mypy finds the place where a value would go in unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


class Markdown(str):
    """Markdown source that is safe to render (see the module's docstring)."""

    __slots__ = ()


_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
# a web address in running text; punctuation that ends a sentence is not part of it
_URL = re.compile(r"https?://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]]")


def escape(value: object) -> Markdown:
    """`value` as text that renders exactly as written, web addresses in it as links
    (Markdown stays Markdown)."""
    if isinstance(value, Markdown):
        return value
    text, out, at = str(value), [], 0
    for found in _URL.finditer(text):
        out.append(_PUNCTUATION.sub(r"\\\1", text[at : found.start()]))
        out.append(f"<{found.group(0)}>")
        at = found.end()
    out.append(_PUNCTUATION.sub(r"\\\1", text[at:]))
    return Markdown("".join(out))


def lines(parts: Iterable[str]) -> Markdown:
    """One line per part (plain strings are escaped, empty parts left out)."""
    return Markdown("\n".join(escape(part) for part in parts if part))


def blocks(parts: Iterable[str]) -> Markdown:
    """Paragraphs and lists, a blank line between each (empty parts are left out)."""
    return Markdown("\n\n".join(escape(part) for part in parts if part))


def items(parts: Iterable[str]) -> Markdown:
    """A bulleted list: one item per part."""
    return Markdown("\n".join("- " + escape(part).replace("\n", "\n  ") for part in parts))


def numbered(parts: Iterable[str]) -> Markdown:
    """A numbered list: 1., 2., … (a member answers with the number)."""
    return Markdown("\n".join(f"{n}. {escape(part)}" for n, part in enumerate(parts, 1)))


def bold(value: str) -> Markdown:
    return Markdown(f"**{escape(value)}**") if value else Markdown("")


def code(value: str) -> Markdown:
    """Text to be typed as it is (a command): a code span, fenced so any backtick inside
    stays literal."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return Markdown(f"{fence}{pad}{value}{pad}{fence}")


_MATRIX_TO = "https://matrix.to/#/"
_USER_ID = re.compile(r"@[a-z0-9._=/+\-]+:[A-Za-z0-9.\-]+(:[0-9]+)?")


def person(contact: str) -> Markdown:
    """A contact as written; a Matrix user ID becomes a mention pill (the message's
    `m.mentions` must name the user too)."""
    if _USER_ID.fullmatch(contact):
        return Markdown(f"[{escape(contact)}]({_MATRIX_TO}{contact})")
    return escape(contact)


@dataclass(frozen=True)
class Rendered:
    text: str  # the plain `body`
    html: str  # the `formatted_body`


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "breaks": True, "typographer": False})
    # What a chat message cannot use or a stray character must not start: headings, rules,
    # indented and fenced code blocks, images, raw HTML.
    parser.disable(["heading", "lheading", "hr", "code", "fence", "html_block", "html_inline"])
    parser.disable(["image"])
    return parser


def render(source: Markdown) -> Rendered:
    tokens = _parser().parse(source)
    html = _parser().renderer.render(tokens, _parser().options, {}).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]  # one paragraph: no margins around it
    return Rendered(_plain(tokens), html.replace("\n", ""))


def _plain(tokens: list[Token]) -> str:
    """The body: the source's layout (line breaks, blank lines), the markup taken out, list
    items with bullets, links with their address."""
    out: list[str] = []
    last_line = -1  # the source line the previous block ended on
    prefixes: list[str] = []  # one per open list level
    numbers: list[int] = []
    quote = 0
    fresh_item = False  # a list item opened and its first line not yet written
    for token in tokens:
        if token.type == "list_item_open":
            fresh_item = True
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1)
            prefixes.append("• " if token.type == "bullet_list_open" else "#")
            numbers.append(start)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            prefixes.pop()
            numbers.pop()
        elif token.type == "blockquote_open":
            quote += 1
        elif token.type == "blockquote_close":
            quote -= 1
        elif token.type == "inline":
            first = token.map[0] if token.map else last_line + 1
            if out:
                out.append("\n" if first <= last_line + 1 else "\n\n")
            indent = "  " * (len(prefixes) - 1) if prefixes else ""
            marker = ""
            if prefixes and fresh_item:
                fresh_item = False
                if prefixes[-1] == "#":
                    marker = f"{numbers[-1]}. "
                    numbers[-1] += 1
                else:
                    marker = prefixes[-1]
            elif prefixes:
                indent += "  "
            lead = "> " * quote
            text = _inline(token.children or [])
            hang = indent + ("  " if prefixes else "")  # a list item's further lines
            out.append(lead + indent + marker + text.replace("\n", "\n" + lead + hang))
            last_line = token.map[1] - 1 if token.map else first
    return "".join(out)


def _inline(children: list[Token]) -> str:
    out: list[str] = []
    href: str | None = None
    start = 0
    for child in children:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "link_open":
            href, start = str(child.attrGet("href") or ""), len(out)
        elif child.type == "link_close" and href is not None:
            label = "".join(out[start:])
            if href not in (label, "mailto:" + label) and not href.startswith(_MATRIX_TO):
                out.append(f" ({href})")
            href = None
    return "".join(out)
