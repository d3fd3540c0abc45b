"""GEMMA_TERMS.html as a clean document: the terms' text, no script, nothing from elsewhere.

The PyPI model package ships the terms as a saved web page: inline scripts, style
sheets, web fonts and about 18 references to other sites' scripts and fonts. Served
from the site as is, it would ask other origins for code the moment a reader opens
it. The exporter writes this instead: the page's title and the text of its article
(headings, paragraphs, lists, emphasis), every link written out as its text and its
address, and nothing with a URL attribute but our own stylesheet. The result renders
under a Content-Security-Policy that forbids every script and inline style.

    source page ─▶ TermsReader (html.parser) ─▶ blocks of escaped text ─▶ terms_page()
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

SOURCE_URL = "https://ai.google.dev/gemma/terms"  # where the terms live, when the page omits it
# The site's stylesheet, beside the model folder in the built site (web/build.py puts the
# folder in model/). Opened elsewhere the link finds nothing and the browser's styles apply.
STYLESHEET = "../app.css"
# The page itself runs no script and loads nothing but that stylesheet.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'"
)

BLOCKS = {"p", "ul", "ol", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
INLINE = {"strong": "strong", "b": "strong", "em": "em", "i": "em", "code": "code"}
ASIDES = {"aside"}  # a note box: kept as a paragraph
# Dropped with everything inside them (and any element marked hidden). Custom elements
# (<devsite-content>…) are looked through like <div>; their buttons and forms go.
SKIPPED = {
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "button", "form", "select", "textarea", "nav", "header", "footer", "video", "audio",
}  # fmt: skip
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
ARTICLE_CLASS = "devsite-article-body"  # the saved page's article; elsewhere its <main>


class TermsReader(HTMLParser):
    """Collect the title, the source address and the article's text as clean HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.page_title = ""  # the article's own <h1>, preferred over <title>
        self.source = ""
        self.parts: list[str] = []  # clean HTML of the article
        self.fallback: list[str] = []  # clean HTML of <main>, if no article body is found
        self._in_title = False
        self._in_h1 = False
        self._skip = 0  # depth inside a SKIPPED (or custom) element
        self._article = 0  # depth inside the article body (0: outside)
        self._main = 0
        self._links: list[str | None] = []  # the address of each open <a> (None: in-page)

    # --- the parser's callbacks -----------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link" and "canonical" in values.get("rel", "").split():
            self.source = self.source or values.get("href", "")
        if tag in VOID:
            if tag == "br" and self._collecting():
                self._emit("<br>")
            return
        hidden = "hidden" in values or values.get("aria-hidden") == "true"
        if self._skip or tag in SKIPPED or hidden:
            self._skip += 1
            return
        if tag == "title":
            self._in_title = True
        # Only the container's own tag is counted: other tags may be left open in a saved page.
        if self._article and tag == "div":
            self._article += 1
        elif not self._article and ARTICLE_CLASS in values.get("class", "").split():
            self._article = 1
            return
        if self._main and tag == "main":
            self._main += 1
        elif not self._main and tag == "main":
            self._main = 1
            return
        if tag == "h1" and not self.page_title:
            self._in_h1 = True
            return
        if not self._collecting():
            return
        if tag in BLOCKS:
            self._emit(f"<{_heading(tag)}>")
        elif tag in ASIDES:
            self._emit("<p>")
        elif tag in INLINE:
            self._emit(f"<{INLINE[tag]}>")
        elif tag == "a":
            self._links.append(self._address(values.get("href", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self._skip:
            self._skip -= 1
            return
        if tag == "title":
            self._in_title = False
        if tag == "h1" and self._in_h1:
            self._in_h1 = False
            return
        collecting = self._collecting()
        if collecting:
            if tag in BLOCKS:
                self._emit(f"</{_heading(tag)}>\n")
            elif tag in ASIDES:
                self._emit("</p>\n")
            elif tag in INLINE:
                self._emit(f"</{INLINE[tag]}>")
            elif tag == "a" and self._links:
                address = self._links.pop()
                if address:
                    self._emit(f" ({html.escape(address)})")
        if self._article and tag == "div":
            self._article -= 1
        if self._main and tag == "main":
            self._main -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        elif self._in_h1:
            self.page_title += data
        elif self._collecting():
            self._emit(html.escape(data, quote=False))

    # --- helpers ----------------------------------------------------------------------

    def _collecting(self) -> bool:
        return bool(self._article or self._main)

    def _emit(self, text: str) -> None:
        if self._article:
            self.parts.append(text)
        elif self._main:
            self.fallback.append(text)

    def _address(self, href: str) -> str | None:
        """The link's absolute address, written after its text; None for in-page anchors."""
        href = href.strip()
        if not href or href.startswith("#"):
            return None
        address = urljoin(self.source or SOURCE_URL, href)
        return address if address.startswith(("https://", "http://", "mailto:")) else None


def _heading(tag: str) -> str:
    """The document's title is its one <h1>: another <h1> in the article becomes an <h2>."""
    return "h2" if tag == "h1" else tag


def clean_terms(page: str) -> str:
    """The terms in `page` (a saved web page) as a small script-free HTML document."""
    reader = TermsReader()
    reader.feed(page)
    reader.close()
    body = "".join(reader.parts or reader.fallback).strip()
    if not body:
        raise ValueError("the terms page has no article text")
    title = " ".join((reader.page_title or reader.title or "Gemma Terms of Use").split())
    source = reader.source or SOURCE_URL
    return terms_page(title, source, _tidy(body))


def terms_page(title: str, source: str, body: str) -> str:
    """The document around the article's clean HTML `body`."""
    title = html.escape(title)
    source = html.escape(source)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<link rel="stylesheet" href="{STYLESHEET}">
</head>
<body class="document">
<main>
<h1>{title}</h1>
<p class="document-source">A copy of {source} kept with this model, as text: the links of \
the original are written out with their addresses.</p>
{body}
</main>
</body>
</html>
"""


def _tidy(body: str) -> str:
    """Drop the empty paragraphs and blank lines the removed widgets left behind."""
    body = re.sub(r"<p>\s*</p>", "", body)
    return "\n".join(line.rstrip() for line in body.splitlines() if line.strip())


def write_terms(source: Path, target: Path) -> None:
    """Write the clean terms document for the saved terms page `source`."""
    target.write_text(clean_terms(source.read_text(encoding="utf-8")), encoding="utf-8")
