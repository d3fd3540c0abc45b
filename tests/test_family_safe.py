"""Family-safe stories (pyshell/family_safe.py): the word lists, the rule, and the token
filter on Gemma 3's real tokenizer, alone and inside the story policy."""

from __future__ import annotations

import random

import pytest

from pyshell.family_safe import (
    FamilyFilter,
    UnsuitableRequestError,
    check_request,
    family_filter,
    fold,
    listed_request_fields,
    listed_words,
    parse_word_list,
    word_list,
)
from pyshell.prompts import StoryRequest
from pyshell.runner import Candidates
from pyshell.story_policy import StoryPolicy, story_policy
from pyshell.tokenizer import Tokenizer
from tests.tokenizer_fixtures import real_tokenizer_model

EOS = 1
CATEGORIES = {"sexual", "profanity", "slurs", "drugs and alcohol", "violence"}
# Words a bedtime story may need, some of which begin with or contain a listed form.
HARMLESS = {
    "en": [
        "Sussex", "Essex", "Middlesex", "Scunthorpe", "hello", "Hello", "hellebore", "assemble",
        "classic", "assistant", "heroine", "heroines", "method", "ginger", "gingerbread",
        "rumble", "meadow", "stable", "sextant", "lustre", "Japan", "pussycat", "squawking",
        "liquorice", "drank", "died", "dead", "killed", "slew", "the wolf was killed",
        "naked", "blood", "butcher", "cockerel", "mistletoe", "therapist", "document",
    ],
    "fr": [
        "violon", "violet", "violette", "violence", "violent", "assez", "assis", "conte",
        "contre", "content", "confiture", "conseil", "construire", "connexion", "chien",
        "pissenlit", "vingt", "vinaigre", "gingembre", "droguerie", "l'héroïne", "héroïne",
        "meurtri", "baiser", "mourut", "tué", "le loup fut tué", "cul-de-sac", "au sein de",
        "raton laveur", "bordelais", "rhumatisme", "Puteaux", "sexagénaire",
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.from_file(real_tokenizer_model())


@pytest.fixture(scope="module")
def filters(tokenizer) -> dict[str, FamilyFilter]:
    return {lang: family_filter(tokenizer, lang, {EOS}) for lang in ("en", "fr")}


def ids_of(tokenizer: Tokenizer, *pieces: str) -> list[int]:
    ids = [tokenizer.piece_to_id(p) for p in pieces]
    assert [tokenizer.id_to_piece(i) for i in ids] == list(pieces)  # every piece exists
    return ids


def write(state, tokenizer: Tokenizer, ids: list[int], decoder=None) -> None:
    decoder = decoder or tokenizer.stream_decoder()
    for i in ids:
        state.push(i, decoder.push(i))


def first_banned(state, tokenizer: Tokenizer, text: str) -> str | None:
    """Write `text`'s tokens one by one; the first piece the filter bans, or None."""
    decoder = tokenizer.stream_decoder()
    for i in tokenizer.encode(text):
        if state.banned([i]):
            return tokenizer.id_to_piece(i)
        state.push(i, decoder.push(i))
    return None


# --- the word lists --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_list_holds_hundreds_of_forms_in_every_category(language):
    words = word_list(language)
    assert len(words.categories) >= 600
    counts = {c: list(words.categories.values()).count(c) for c in CATEGORIES}
    assert set(words.categories.values()) == CATEGORIES
    assert min(counts.values()) >= 50, counts
    assert all(form == fold(form) for form in words.categories)  # stored as the rule reads
    assert words.patient < set(words.categories)


def test_the_lists_hold_the_examples_and_leave_fairy_tale_deaths_alone():
    en, fr = word_list("en").categories, word_list("fr").categories
    assert en["murdered"] == en["disembowelled"] == "violence" and en["drunk"] != "violence"
    assert fr["éviscéré"] == fr["meurtre"] == "violence" and fr["sexe"] == "sexual"
    for harmless in ("died", "dead", "kill", "killed", "slew", "death", "blood", "wolf"):
        assert harmless not in en
    for harmless in ("mourut", "mort", "tué", "tuer", "sang", "héroïne", "baiser"):
        assert harmless not in fr
    assert {"hell", "ass", "heroin", "stab"} <= word_list("en").patient
    assert {"viol", "con", "cons", "vin", "chie"} <= word_list("fr").patient


def test_the_list_format_and_its_errors():
    words = parse_word_list("# category: a\nFoo  # comment\n=bar\nlittle ’n’ Big\n", "en")
    assert words.categories == {"foo": "a", "bar": "a", "little 'n' big": "a"}
    assert words.patient == {"bar"}
    for bad, message in [
        ("foo\n", "before any"),
        ("# category: a\nfoo\nFOO\n", "listed twice"),
        ("# category: a\n-foo\n", "start and end with a letter"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_word_list(bad, "en", "test.txt")


# --- the rule on finished text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "found"),
    [
        ("en", "At last the two had sex.", ["sex"]),
        ("en", "Both teens became drunk, and the man was murdered", ["drunk", "murdered"]),
        ("en", "MURDER! cried the Sussex man from Essex, then Scunthorpe.", ["murder"]),
        ("en", "Hello! The hellebore grew. What the hell", ["hell"]),
        ("en", "The heroine never took heroin.", ["heroin"]),
        ("en", "A blood-soaked, disembowelled deer", ["blood-soaked", "disembowelled"]),
        ("en", "There were little black\nmen in the hut.", ["little black men"]),
        ("en", "The wolf was killed and the old king died in his sleep.", []),
        ("fr", "Il voulait changer de sexe.", ["sexe"]),
        ("fr", "Dans la chambre du petit meurtre", ["meurtre"]),
        ("fr", "L'assassin l’a éviscéré.", ["assassin", "éviscéré"]),
        ("fr", "Un violon violet, un conte, assez ! Le viol, quel con", ["viol", "con"]),
        ("fr", "L'héroïne mourut ; le loup fut tué.", []),
        ("fr", "Il n'avait rien à foutres.", ["foutres"]),  # a held-out story's misspelling
        ("fr", "Lila s'en foutait.", ["foutait"]),  # a held-out story's, with beats
        ("fr", "« À quoi tu te fous ! » Deux fous rirent.", ["te fous"]),  # "fous", mad, stays
    ],
)
def test_listed_words_finds_whole_words_at_word_starts(language, text, found):
    assert listed_words(text, language) == found


@pytest.mark.parametrize("language", ["en", "fr"])
def test_listed_words_leaves_the_harmless_words_alone(language):
    for word in HARMLESS[language]:
        assert listed_words(f"{word}. {word.upper()}, «{word}»", language) == [], word


def test_a_request_field_that_is_listed_gets_a_field_error():
    request = StoryRequest(character="a drunk pirate", theme="a murder", language="en")
    assert listed_request_fields(request) == {"character": ["drunk"], "theme": ["murder"]}
    with pytest.raises(UnsuitableRequestError, match="family-safe") as raised:
        check_request(request)
    assert raised.value.field == "character" and raised.value.words == ["drunk"]
    french = StoryRequest(character="un pirate", setting="un bordel", language="fr")
    with pytest.raises(UnsuitableRequestError) as raised:
        check_request(french)
    assert raised.value.field == "setting"
    check_request(StoryRequest(character="a curious fox", theme="friendship", tone="funny"))
    check_request(StoryRequest(character="un violoniste", setting="l'Essex", language="fr"))


# --- the token filter on the real tokenizer --------------------------------------------


@pytest.fixture(scope="module")
def direct_bans(filters) -> dict[tuple[str, bool], frozenset[int]]:
    """(language, after a letter) → every id banned by itself (the whole vocabulary)."""
    return {(lang, after): f.direct_bans(after) for lang, f in filters.items() for after in (0, 1)}


def test_direct_bans_cover_whole_pieces_and_only_word_starts(tokenizer, direct_bans):
    start, inside = direct_bans[("en", False)], direct_bans[("en", True)]
    murdered, murder_cap, murder = ids_of(tokenizer, "▁murdered", "▁Murder", "murder")
    assert {murdered, murder_cap} <= start and {murdered, murder_cap} <= inside
    assert murder in start and murder not in inside  # "murder" may end "Smurder"
    drunk, sex = ids_of(tokenizer, "▁drunk", "sex")
    assert drunk in start and sex in start and sex not in inside
    harmless = ids_of(tokenizer, "▁hello", "▁Sussex", "▁Essex", "▁heroine", "▁hell", "▁ass")
    assert not set(harmless) & (start | inside)
    assert not set(ids_of(tokenizer, "▁conte", "▁assez", "▁viol")) & direct_bans[("fr", False)]
    # Every such piece writes a listed form, and every one is banned at a step.
    state = StoryPolicy(family=family_filter(tokenizer, "en", {EOS})).start(tokenizer, 9, EOS)
    assert all(listed_words(tokenizer.token_text(i), "en") for i in start | inside)
    assert not set(state.candidates(Candidates(sorted(start), [0.0] * len(start))).ids) - {EOS}
    for language in ("en", "fr"):
        assert len(direct_bans[(language, False)]) > len(direct_bans[(language, True)]) > 50


def test_a_split_word_is_blocked_in_sequence(tokenizer, filters):
    fr = filters["fr"].start()
    me, ur, tre, te = ids_of(tokenizer, "▁me", "ur", "tre", "te")
    assert tokenizer.encode(" meurtre") == [me, ur, tre]
    write(fr, tokenizer, [me, ur])
    assert fr.banned([tre, te]) == {tre}
    en = filters["en"].start()
    mur, der = ids_of(tokenizer, "▁mur", "der")
    write(en, tokenizer, [mur])
    assert en.banned([der, *ids_of(tokenizer, "ky")]) == {der}  # "murder", not "murky"


def test_a_form_that_starts_harmless_words_waits_for_the_word_to_end(tokenizer, filters):
    fr = filters["fr"].start()
    viol, on, et, dot, comma = ids_of(tokenizer, "▁viol", "on", "et", ".", ",")
    assert fr.banned([viol]) == set()
    write(fr, tokenizer, [viol])
    assert fr.banned([on, et, dot, comma, EOS]) == {dot, comma, EOS}  # EOS: the text ends there
    write(fr, tokenizer, [on])
    assert fr.banned([dot]) == set()  # "violon."
    en = filters["en"].start()
    hell, o, space = ids_of(tokenizer, "▁hell", "o", "▁")
    write(en, tokenizer, [hell])
    assert en.banned([o, space, dot]) == {space, dot}


def test_the_last_token_may_not_leave_a_listed_word(tokenizer, filters):
    state = filters["en"].start()
    hell, hello = ids_of(tokenizer, "▁hell", "▁hello")
    assert state.banned([hell, hello]) == set()
    assert state.banned([hell, hello], last=True) == {hell}


def test_a_word_spelt_with_byte_pieces_is_blocked_at_its_last_byte(tokenizer, filters):
    state = filters["fr"].start()
    blank, vis, c, e, r = ids_of(tokenizer, "▁", "vis", "c", "é", "r")
    lead, tail = ids_of(tokenizer, "<0xC3>", "<0xA9>")  # é in UTF-8
    decoder = tokenizer.stream_decoder()
    write(state, tokenizer, [blank, lead], decoder)
    assert state.banned([tail]) == set()  # "é" begins many words
    write(state, tokenizer, [tail, vis, c, e, r, lead], decoder)
    assert state.banned([tail, e]) == {tail}  # " éviscér" + "é": the byte that finishes it


def test_the_prompt_s_last_word_counts(tokenizer, filters):
    """The story continues the prompt: " … the mur" + "der" is the word "murder"."""
    policy = StoryPolicy(family=filters["en"])
    steering = policy.start(tokenizer, 20, EOS)
    mur, der, ky = ids_of(tokenizer, "▁mur", "der", "ky")
    steering.follow_prompt(tokenizer.encode("It was the", add_bos=True) + [mur])
    assert steering.candidates(Candidates([der, ky], [2.0, 1.0])).ids == [ky]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_harmless_words_are_never_blocked_on_their_way(tokenizer, filters, language):
    for word in HARMLESS[language]:
        for text in (f" {word}.", f"\n{word[0].upper()}{word[1:]},", f' "{word}"'):
            state = filters[language].start()
            state.follow(" the")
            assert first_banned(state, tokenizer, text) is None, text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_listed_form_is_blocked_however_it_is_cased_or_preceded(tokenizer, filters, language):
    for form in word_list(language).categories:
        cased = (form, form[0].upper() + form[1:], form.upper())
        for before, text in [(" the", f" {w}") for w in cased] + [(" l'", form), ("\n", form)]:
            state = filters[language].start()
            state.follow(before)
            assert first_banned(state, tokenizer, text + " .") is not None, (before, text)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_quick_paths_give_the_whole_rule(tokenizer, filters, language):
    """`banned` looks most candidates up, or walks only the words in progress; at every
    step of a text full of listed words that is the rule applied to each candidate."""
    rng = random.Random(5)
    forms = word_list(language).forms
    text = " ".join(rng.choice([f, f.upper(), "le", "the", "Sussex", "con", "hell"]) for f in forms)
    ids = tokenizer.encode(text[:6000])
    state = filters[language].start()
    decoder = tokenizer.stream_decoder()
    slow_steps = 0
    for k, token in enumerate(ids):
        candidates = rng.sample(ids, 40) + [token, EOS]
        whole = {i for i in candidates if state._completes(i, last=False)}
        assert state.banned(candidates) == whole, (k, tokenizer.decode(ids[max(0, k - 5) : k]))
        slow_steps += bool(state._state[0])
        state.push(token, decoder.push(token))
    assert slow_steps > 300  # many steps had a listed word in progress


# --- inside the story policy -----------------------------------------------------------


def adversary_story(tokenizer, policy, language: str, rng: random.Random, pool: list[int]):
    """A story written by a model that keeps trying to spell listed words: at each step
    the candidates are 63 random pool pieces plus the next piece of a listed form it
    is spelling, and it takes that piece whenever the policy leaves it."""
    forms = word_list(language).forms
    steering = policy.start(tokenizer, 120, EOS)
    decoder = tokenizer.stream_decoder()
    text, script, written = "", [], 0
    while written < steering.limit:
        if not script and rng.random() < 0.4:
            form = rng.choice(forms)
            form = rng.choice([form, form.capitalize(), form.upper()])
            script = tokenizer.encode(rng.choice([" ", "\n", " l'", " (", "-"]) + form)
            script.append(
                rng.choice([tokenizer.piece_to_id(p) for p in (".", ",", "▁and")] + [EOS])
            )
        wanted = script.pop(0) if script else None
        ids = rng.sample(pool, 63) + ([wanted] if wanted is not None else [])
        scores = sorted((rng.random() for _ in ids), reverse=True)
        allowed = steering.candidates(Candidates(ids, scores)).ids
        if wanted in allowed:
            token = wanted
        else:
            token, script = rng.choice(allowed), []
        if token == EOS:
            break
        piece = decoder.push(token)
        steering.push(token, piece)
        text += piece
        written += 1
    return text + decoder.flush()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_model_spelling_listed_words_never_gets_one_through(tokenizer, language):
    rng = random.Random(7)
    forms = word_list(language).forms
    pool = sorted({i for f in forms for i in tokenizer.encode(" " + f) + tokenizer.encode(f)})
    pool += ids_of(tokenizer, "▁the", "▁a", "▁and", "▁", ".", ",", "'", "-", "<0xC3>", "<0xA9>")
    safe = story_policy(tokenizer, {EOS}, finish_sentence=False, language=language)
    unsafe = story_policy(
        tokenizer, {EOS}, finish_sentence=False, language=language, family_safe=False
    )
    listed_without = 0
    for _ in range(25):
        story = adversary_story(tokenizer, safe, language, rng, pool)
        assert listed_words(story, language) == [], story
        story = adversary_story(tokenizer, unsafe, language, rng, pool)
        listed_without += len(listed_words(story, language))
    assert listed_without >= 50  # the same writer without the filter gets them through


def test_the_filter_keeps_stories_deterministic(tokenizer):
    """Two filters built apart ban the same ids, so the same seed writes the same story
    (whatever each has decided and remembered before)."""
    a, b = FamilyFilter(tokenizer, "en", {EOS}), FamilyFilter(tokenizer, "en", {EOS})
    a.seen(tokenizer.piece_to_id("▁murder"))  # one remembers a token the other has not seen
    forms = word_list("en").forms[::4]
    pool = sorted({i for f in forms for i in tokenizer.encode(" " + f)}) + list(range(1000, 1200))
    stories = []
    for family in (a, b):
        policy = StoryPolicy(banned=frozenset({0, 2}), family=family)
        rng = random.Random(3)
        stories.append(adversary_story(tokenizer, policy, "en", rng, pool))
    assert stories[0] == stories[1] and len(stories[0]) > 200


def test_when_every_candidate_would_write_a_listed_word_the_story_ends(tokenizer, filters):
    steering = StoryPolicy(family=filters["en"]).start(tokenizer, 20, EOS)
    hell, dot, comma = ids_of(tokenizer, "▁hell", ".", ",")
    steering.push(hell, " hell")
    assert steering.candidates(Candidates([dot, comma], [2.0, 1.0])) == Candidates([EOS], [0.0])


def test_story_policy_turns_the_filter_on_by_default_per_language(tokenizer):
    on = story_policy(tokenizer, {EOS}, language="fr")
    assert on.family is not None and on.family.language == "fr"
    assert on.describe()["family_safe"] is True
    off = story_policy(tokenizer, {EOS}, family_safe=False)
    assert off.family is None and off.describe()["family_safe"] is False
    assert story_policy(tokenizer, {EOS}).family is story_policy(tokenizer, {EOS}).family  # kept
