"""The page in English and in French (js/i18n.js, js/locales/).

The interface follows the browser's language (Playwright's `locale` sets
navigator.language) and has a switch; the story language is its own field.
The dictionaries are checked without a browser: the same keys in both
languages, and every key the page uses exists. In a French browser a French
story is written and no English may be left on the screen outside the story.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from pyshell.errors import PARAMS, ErrorCode

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
JS = STATIC / "js"
LOCALES = JS / "shared" / "locales"
SPEECH_STUB = (Path(__file__).parent / "speech_stub.js").read_text()
FRENCH_STORY = {
    "character": "une petite renarde",
    "setting": "un village au bord de la mer",
    "theme": "l'amitié",
    "tone": "drôle",
}
SHORT = {"max_new_tokens": "12", "seed": "5"}

# English the French page must not show (outside the story). Words that are also
# French (version, Auto, Top-p, NOTICE, surprise…) and the model's name are not here.
ENGLISH = [
    "the", "and", "your", "you", "with", "from", "this", "that", "for", "of", "to", "is", "it",
    "story", "stories", "write", "writing", "written", "loading", "ready", "generating",
    "finished", "stopped", "stop", "stopping", "error", "seed", "tokens", "token", "thread",
    "threads", "character", "setting", "length", "short", "medium", "long", "language",
    "english", "french", "words", "optional", "advanced", "settings", "penalty", "random",
    "reset", "defaults", "copy", "download", "read", "aloud", "reading", "voice", "offline",
    "online", "works", "device", "browser", "generated", "model", "terms", "use", "enter",
    "escape", "run", "reloads", "automatic", "graphics", "card", "loaded", "describe",
    "press", "ended", "reached", "limit", "checking", "skip", "other", "files", "downloading",
    "measure", "speed", "check", "unavailable", "detecting", "whole", "number", "between",
    "must",
]  # fmt: skip
ENGLISH_CASED = ["AI"]  # "ai" is French ("j'ai"): only the capitals are English

VISIBLE_TEXT = """() => {
  const story = document.querySelector('[data-testid="story"]');
  const texts = [document.title];
  const shown = (el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.data.trim() || story.contains(el) || el.closest("select, datalist")) continue;
    if (shown(el)) texts.push(node.data.trim());
  }
  for (const select of document.querySelectorAll("select")) {
    if (shown(select)) texts.push(select.selectedOptions[0]?.textContent ?? "");
  }
  for (const input of document.querySelectorAll("input, textarea")) {
    if (shown(input) && !input.value) texts.push(input.placeholder);
  }
  for (const el of document.querySelectorAll("[title], [aria-label]")) {
    if (el !== story && story.contains(el)) continue;
    texts.push(el.getAttribute("title") ?? "", el.getAttribute("aria-label") ?? "");
  }
  return texts.filter(Boolean);
}"""


def dictionary(name: str) -> dict[str, str]:
    """A locale file's entries as {key: text}; plural entries joined as "one|other"."""
    source = (LOCALES / f"{name}.js").read_text()
    entries = {}
    for key, value in re.findall(r'^\s*"([\w.]+)":\s*(.+?),?\s*$', source, re.MULTILINE):
        entries[key] = value
    assert entries, name
    return entries


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def english_left(texts: list[str]) -> list[str]:
    words = re.compile(r"\b(" + "|".join(ENGLISH) + r")\b", re.IGNORECASE)
    cased = re.compile(r"\b(" + "|".join(ENGLISH_CASED) + r")\b")
    return [t for t in texts if words.search(t) or cased.search(t)]


# --- the dictionaries (no browser) ------------------------------------------------------


def test_both_languages_have_the_same_keys_and_placeholders():
    en, fr = dictionary("en"), dictionary("fr")
    assert sorted(en) == sorted(fr), set(en) ^ set(fr)
    for key in en:
        # French may leave out a technical detail the English shows, never add one.
        assert placeholders(fr[key]) <= placeholders(en[key]), key
        plural = re.compile(r"^\{\s*one:")
        assert bool(plural.match(fr[key])) == bool(plural.match(en[key])), key


def test_every_key_the_page_uses_exists():
    en = dictionary("en")
    html = (STATIC / "index.html").read_text()
    used = set(re.findall(r'data-i18n(?:-[\w-]+)?="([\w.]+)"', html))
    # Any string literal in a dictionary namespace ("status.writing") is a key.
    namespaces = "|".join(sorted({key.split(".")[0] for key in en}))
    literal = re.compile(r'"((?:' + namespaces + r')\.[\w.]*\w)"')
    for path in (STATIC / "js").rglob("*.js"):
        used |= set(literal.findall(path.read_text()))
    assert len(used) > 100
    missing = sorted(k for k in used if k not in en)
    assert not missing, missing


def test_every_pyshell_code_has_an_english_and_a_french_string():
    """pyshell reports codes (pyshell/errors.py); the page shows "pyshellCode.<code>" with its
    params, so each locale entry may use only the params pyshell sends."""
    en, fr = dictionary("en"), dictionary("fr")
    for code in ErrorCode:
        key = f"pyshellCode.{code}"
        assert key in en and key in fr, key
        assert placeholders(en[key]) <= PARAMS[code], (key, placeholders(en[key]), PARAMS[code])
    stale = {k for k in en if k.startswith("pyshellCode.")} - {
        f"pyshellCode.{c}" for c in ErrorCode
    }
    assert not stale, stale


def render_codes(language: str) -> dict[str, str]:
    """Every code rendered by js/shared/pyshell-codes.js in `language` (node, no browser)."""
    reports = {
        code: {"code": str(code), "params": {p: 7 for p in PARAMS[code]}} for code in ErrorCode
    }
    codes = json.dumps((JS / "shared" / "pyshell-codes.js").as_uri())
    script = (
        f"import {{ fieldReason, pyshellMessage }} from {codes};"
        f"import {{ render, setLanguage }} from {json.dumps((JS / 'shared' / 'i18n.js').as_uri())};"
        f"setLanguage({json.dumps(language)});"
        f"const reports = {json.dumps(reports)};"
        "const out = {};"
        "for (const [code, report] of Object.entries(reports)) {"
        "  out[code] = [render(fieldReason(report)), render(pyshellMessage(report))];"
        "}"
        "console.log(JSON.stringify(out));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_code_renders_whole_in_both_languages(language):
    for code, texts in render_codes(language).items():
        for text in texts:
            assert text and "{" not in text and "pyshellCode." not in text, (code, text)
    fr = render_codes("fr")
    assert fr["out_of_range"][0] == "doit aller de 7 à 7 (valeur\u00a0: 7)"
    assert fr["too_long"][0] == "7 caractères\u00a0; le maximum est 7"


def test_an_unknown_code_gets_a_translated_generic_reason():
    script = (
        f"import {{ fieldReason }} from {json.dumps((JS / 'shared' / 'pyshell-codes.js').as_uri())};"
        f"import {{ render, setLanguage }} from {json.dumps((JS / 'shared' / 'i18n.js').as_uri())};"
        "const report = {code: 'a_new_rule', params: {got: 'x'}, message: 'top-p is odd (got x)'};"
        "const en = render(fieldReason(report)); setLanguage('fr');"
        "console.log(JSON.stringify([en, render(fieldReason(report))]));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == [
        "top-p is odd (got x)",  # pyshell's own English in an English interface
        "cette valeur ne convient pas (valeur\u00a0: x)",
    ]


# --- English ------------------------------------------------------------------------------


def test_an_english_browser_gets_the_english_page(tiny_wasm):
    page = tiny_wasm.page
    assert page.get_attribute("html", "lang") == "en"
    assert page.input_value('[data-testid="ui-language"]') == "en"
    assert tiny_wasm.hook("language") == "en"
    assert page.inner_text('[data-testid="generate"]').endswith("Write the story")
    assert page.inner_text("#compose-title") == "Your story"
    assert tiny_wasm.status_text().lower().startswith("ready")


# --- French -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def french(browser, new_page, origin, tiny_site):
    """The tiny model (WASM) in a French browser, with a stub speechSynthesis."""
    page = new_page(
        browser, f"{origin}/tiny/?backend=wasm", locale="fr-FR", init_script=SPEECH_STUB
    )
    page.assert_ready()
    page.page.evaluate(
        "window.__speech.setVoices([{name: 'Amélie', lang: 'fr-FR', localService: true},"
        " {name: 'Daniel', lang: 'en-GB', localService: true}])"
    )
    return page


def test_a_french_browser_gets_the_french_page(french):
    page = french.page
    assert page.get_attribute("html", "lang") == "fr"
    assert page.input_value('[data-testid="ui-language"]') == "fr"
    assert french.hook("language") == "fr"
    assert page.input_value("#language") == "fr"  # the story language follows by default
    assert page.inner_text("#compose-title") == "Votre histoire"
    assert page.inner_text('[data-testid="generate"]').endswith("Écrire l'histoire")
    assert page.get_attribute("#character", "placeholder") == "un renard curieux"
    assert page.title().startswith("Conteur\u00a0: des histoires")
    status = french.status_text()
    assert status.lower().startswith("prêt"), status
    assert "Chargé en" in status, status
    assert page.inner_text(".ai-notice").startswith("Texte généré par IA.")


def test_writes_a_french_story_with_no_english_left_on_the_screen(french):
    page = french
    last = page.write("Il était une fois", SHORT, language="fr", **FRENCH_STORY)
    assert last["request"]["language"] == "fr"
    assert page.story_text().startswith(last["prompt"])
    status = page.status_text()
    assert status.lower().startswith("prêt"), status
    assert "Terminée" in status and "graine 5" in status, status
    # Advanced settings open, a French field error shown: all of it must be French too.
    page.page.fill("#temperature", "5")
    error = page.error_after_generate()
    assert error.lower().startswith("erreur"), error
    assert "Température\u00a0: doit aller de 0 à 2 (valeur\u00a0: 5)" in error, error
    assert page.page.inner_text("#temperature-error") == "Doit aller de 0 à 2 (valeur\u00a0: 5)"
    page.page.click('[data-testid="speed-check"]')  # its result line is French too
    page.page.wait_for_function(
        "['done', 'error'].includes(document.querySelector('[data-testid=speed-result]')"
        ".dataset.state)",
        timeout=120_000,
    )
    assert "jetons/s" in page.page.inner_text('[data-testid="speed-result"]')
    texts = page.page.evaluate(VISIBLE_TEXT)
    left = english_left(texts)
    assert not left, f"English on the French page: {left}"
    assert any("Réglages avancés" in t for t in texts)
    assert any("Lire à voix haute" in t for t in texts)
    page.page.fill("#temperature", "")
    page.write("Il était une fois", SHORT, language="fr", **FRENCH_STORY)
    assert not english_left(page.page.evaluate(VISIBLE_TEXT))


def test_reads_the_french_story_aloud_with_a_french_voice(french):
    page = french
    assert page.page.get_attribute('[data-testid="read-aloud"]', "data-state") == "ready"
    before = len(page.page.evaluate("window.__speech.spoken"))
    page.page.click('[data-testid="read-aloud"]')
    queued = page.page.evaluate("window.__speech.spoken")[before:]
    assert queued and {u["lang"] for u in queued} == {"fr-FR"}
    assert {u["voice"] for u in queued} == {"Amélie"}
    assert page.page.inner_text('[data-testid="read-aloud"]') == "Arrêter la lecture"
    page.page.click('[data-testid="stop"]')
    page.page.wait_for_function("window.conteur.reading.state === 'ready'")
    assert page.page.inner_text('[data-testid="read-aloud"]') == "Lire à voix haute"


def test_the_switch_changes_the_interface_not_the_story(french):
    page = french.page
    story = french.story_text()
    assert page.input_value("#language") == "fr"
    page.select_option('[data-testid="ui-language"]', "en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#compose-title") == "Your story"
    assert french.status_text().lower().startswith("ready")
    assert "Finished" in french.status_text()
    assert page.inner_text('[data-testid="read-aloud"]') == "Read aloud"
    assert french.story_text() == story  # the story stays as written
    assert page.input_value("#language") == "fr"  # the reader chose it: it stays
    assert page.evaluate("localStorage.getItem('conteur-ui-language')") == "en"
    page.reload()
    french.wait_loaded()
    assert page.get_attribute("html", "lang") == "en"  # remembered over the browser's language
    assert page.input_value("#language") == "en"  # not chosen on this load: it follows
    page.select_option('[data-testid="ui-language"]', "fr")
    assert page.input_value("#language") == "fr"
    assert page.inner_text("#compose-title") == "Votre histoire"
    assert not english_left(page.evaluate(VISIBLE_TEXT))


def test_a_french_page_translates_pyshell_s_errors_by_their_code(french):
    """A bad temperature and a too-long text: pyshell reports codes, the page writes French."""
    page = french
    page.fill("a" * 5000)
    page.settings(**SHORT, temperature="5")
    error = page.error_after_generate()
    assert (
        "Vos propres mots\u00a0: 5\u202f000 caractères\u00a0; le maximum est 4\u202f000" in error
    ), error
    assert (
        page.page.inner_text("#text-error")
        == "5\u202f000 caractères\u00a0; le maximum est 4\u202f000"
    )
    assert page.page.inner_text("#text-count") == "5\u202f000 / 4\u202f000 caractères"
    page.fill("Il était une fois")
    error = page.error_after_generate()
    assert "Température\u00a0: doit aller de 0 à 2 (valeur\u00a0: 5)" in error, error
    assert not english_left([error, page.page.inner_text("#temperature-error")])
    # A prompt longer than the tiny model's context: pyshell's notice, in French.
    page.write("Il était une fois une gardienne de phare. " * 80, SHORT, language="fr")
    toast = page.page.inner_text("#toast")
    assert toast.startswith("Le début fait") and "seuls 244 tiennent avec 12" in toast, toast
