"""pyshell/tokenizer.py against its oracle, CPython's sentencepiece, token for token."""

from __future__ import annotations

import random
import shutil
import time
import tracemalloc

import pytest
import sentencepiece as spm

from pyshell.spm_model import (
    UNUSED,
    TokenizerModelError,
    load_spm_model,
    parse_model_proto,
    pieces_cache_path,
)
from pyshell.tokenizer import Tokenizer, _chars_before, write_pieces_cache
from tests.tokenizer_corpus import (
    EDGE_CASES,
    MIN_CORPUS_BYTES,
    corpus_bytes,
    debian_corpus,
    describe,
    random_texts,
)
from tests.tokenizer_fixtures import (
    real_tokenizer_model,
    spm_encode,
    train_tiny_tokenizer,
    with_piece_types,
)

REFERENCE_TEXT = "Once upon a time, in a small village,"
REFERENCE_IDS = [2, 14946, 3324, 496, 990, 236764, 528, 496, 1944, 9744, 236764]


def round_trips(text: str) -> bool:
    """Whether sentencepiece gives `text` back: not for "▁" (it decodes as a space)
    nor for lone surrogates (they become U+FFFD)."""
    return "\u2581" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@pytest.fixture(scope="module")
def real_path():
    return real_tokenizer_model()


@pytest.fixture(scope="module")
def real(real_path) -> Tokenizer:
    return Tokenizer.from_file(real_path)


@pytest.fixture(scope="module")
def oracle(real_path) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(real_path))


@pytest.fixture(scope="module")
def tiny_bytes() -> bytes:
    return train_tiny_tokenizer()


def tokenizer_from_bytes(data: bytes) -> Tokenizer:
    return Tokenizer(parse_model_proto(data))


def assert_same_as_sentencepiece(tokenizer: Tokenizer, processor, texts, labels=None) -> None:
    """Encode and decode every text both ways; report the first difference by name."""
    labels = labels or [repr(t[:40]) for t in texts]
    for label, text in zip(labels, texts):
        want = spm_encode(processor, text)
        got = tokenizer.encode(text)
        if got != want:
            at = next(k for k, (a, b) in enumerate(zip(got + [None], want + [None])) if a != b)
            pytest.fail(
                f"{label}: ids differ at token {at}: got {got[at : at + 8]}, "
                f"sentencepiece {want[at : at + 8]} (after {want[max(0, at - 3) : at]})"
            )
        decoded = tokenizer.decode(got)
        assert decoded == processor.decode(want), label
        if round_trips(text):
            assert decoded == text, label


# --- the real Gemma tokenizer ------------------------------------------------


def test_corpus_is_at_least_one_mebibyte():
    texts = debian_corpus()
    print(describe(texts))
    assert corpus_bytes(texts) >= MIN_CORPUS_BYTES, describe(texts)


def test_real_tokenizer_equals_sentencepiece_on_the_corpus(real, oracle):
    texts = debian_corpus()
    assert corpus_bytes(texts) >= MIN_CORPUS_BYTES, describe(texts)
    started = time.perf_counter()
    assert_same_as_sentencepiece(real, oracle, [t for _, t in texts], [name for name, _ in texts])
    print(f"{describe(texts)}: equal, checked in {time.perf_counter() - started:.1f} s")


def test_real_tokenizer_equals_sentencepiece_on_edge_cases(real, oracle):
    assert_same_as_sentencepiece(real, oracle, EDGE_CASES)


def test_reference_prompt_and_special_ids(real):
    assert real.encode(REFERENCE_TEXT, add_bos=True) == REFERENCE_IDS
    assert real.encode(REFERENCE_TEXT) == REFERENCE_IDS[1:]
    assert (real.pad_id, real.eos_id, real.bos_id, real.unk_id) == (0, 1, 2, 3)
    assert real.vocab_size == 262_144
    assert real.id_to_piece(105) == "<start_of_turn>"
    assert real.piece_to_id("<end_of_turn>") == 106
    assert real.piece_to_id("no such piece, surely") == 3
    assert real.is_control(1) and not real.is_control(105)


def test_specials_written_in_text(real):
    """Control tokens in text are plain text; user-defined ones match whole."""
    assert real.encode("<bos>") == [236820, 46757, 236813]
    assert real.encode("<start_of_turn>user\n") == [105, 2364, 107]
    assert real.encode("<unused5>") == [11]
    assert real.decode([2, 105, 2364, 107, 1, 0]) == "<start_of_turn>user\n"


def test_decode_equals_sentencepiece_on_random_ids(real, oracle):
    """Random mixes of byte pieces (often malformed UTF-8), controls and words."""
    rng = random.Random(0)
    pools = [range(8), range(105, 240), range(238, 494), range(494, 262_144)]
    for _ in range(3000):
        ids = [rng.choice(pools[rng.choice([0, 1, 2, 2, 2, 3])]) for _ in range(rng.randint(1, 12))]
        assert real.decode(ids) == oracle.decode(ids), ids


def test_stream_decoder_never_splits_a_character(real):
    # "—" spelled as three byte pieces (E2 80 94), as byte fallback emits a rare character.
    em_dash = [238 + b for b in "—".encode()]
    stream = real.stream_decoder()
    assert [stream.push(i) for i in em_dash] == ["", "", "—"]
    stream = real.stream_decoder()
    assert stream.push(238 + 0xE2) == ""
    assert stream.push(496) == "\ufffd a"  # sentencepiece: U+FFFD per malformed byte
    assert stream.push(238 + 0xF0) + stream.push(238 + 0x9F) == ""
    assert stream.flush() == "\ufffd\ufffd"


def test_stream_decoder_output_adds_up_to_decode(real, oracle):
    rng = random.Random(1)
    text = "".join(t for _, t in debian_corpus()[150:160])[:20_000] + "".join(EDGE_CASES[40:60])
    for ids in (real.encode(text), [rng.choice(range(238, 520)) for _ in range(2000)]):
        stream = real.stream_decoder()
        pieces = [stream.push(i) for i in ids]
        assert "".join(pieces) + stream.flush() == real.decode(ids) == oracle.decode(ids)
    with pytest.raises(IndexError):
        real.stream_decoder().push(262_144)


def test_cache_and_protobuf_give_identical_tables(real_path, tmp_path):
    plain_path = tmp_path / "tokenizer.model"
    shutil.copy(real_path, plain_path)
    started = time.perf_counter()
    plain = Tokenizer.from_file(plain_path)
    plain_s = time.perf_counter() - started
    write_pieces_cache(plain_path)
    started = time.perf_counter()
    cached = Tokenizer.from_file(plain_path)
    cached_s = time.perf_counter() - started
    assert (plain.loaded_from_cache, cached.loaded_from_cache) == (False, True)
    a, b = plain.model, cached.model
    assert list(b.pieces) == a.pieces
    assert list(a.scores) == list(b.scores)
    assert bytes(a.types) == bytes(b.types)
    assert a.spec() == b.spec()
    alone = Tokenizer.from_pieces_file(pieces_cache_path(plain_path))
    assert list(alone.model.pieces) == a.pieces and alone.model.spec() == a.spec()
    assert alone.encode(REFERENCE_TEXT) == REFERENCE_IDS[1:]
    print(f"CPython load: {plain_s:.3f} s from the protobuf, {cached_s:.3f} s from the cache")


def test_stale_or_broken_cache_is_ignored(tmp_path, tiny_bytes):
    path = tmp_path / "tokenizer.model"
    path.write_bytes(tiny_bytes)
    write_pieces_cache(path)
    assert load_spm_model(path)[1] is True
    path.write_bytes(train_tiny_tokenizer(vocab_size=450))  # another model, old cache
    model, used_cache = load_spm_model(path)
    assert not used_cache and len(model.pieces) == 450
    write_pieces_cache(path)
    cache = pieces_cache_path(path)
    cache.write_bytes(cache.read_bytes()[:-10])
    assert load_spm_model(path)[1] is False
    cache.write_bytes(b"garbage")
    assert load_spm_model(path)[1] is False
    write_pieces_cache(path)  # the format before the id table: read as stale, not misread
    cache.write_bytes(cache.read_bytes().replace(b"conteur-pieces 2\n", b"conteur-pieces 1\n", 1))
    assert load_spm_model(path)[1] is False
    with pytest.raises(TokenizerModelError, match="not a tokenizer.pieces"):
        Tokenizer.from_pieces_file(cache)


def test_load_time_and_encode_speed(real_path, record_property):
    """CPython figures (Pyodide's are in test_tokenizer_pyodide.py)."""
    assert pieces_cache_path(real_path).is_file()
    started = time.perf_counter()
    tokenizer = Tokenizer.from_file(real_path)
    load_s = time.perf_counter() - started
    text = "".join(t for _, t in debian_corpus())[200_000:210_000]
    started = time.perf_counter()
    tokenizer.encode(text)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    tokenizer.encode(text)
    warm_s = time.perf_counter() - started
    print(
        f"CPython: load {load_s:.3f} s (cache); encode 10,000 chars {cold_s * 1000:.1f} ms "
        f"cold, {warm_s * 1000:.1f} ms with the segment cache warm"
    )
    record_property("load_with_cache_s", load_s)
    record_property("encode_10k_cold_s", cold_s)
    assert tokenizer.loaded_from_cache
    assert load_s < 1.0
    assert cold_s < 1.0


def test_loading_holds_little_beyond_what_the_tokenizer_keeps(real_path):
    """Pyodide's heap never shrinks, so a load's high-water mark stays in the page.
    All pieces as one str (14 MB: some are beyond U+FFFF) and its copies once put the
    peak 28 MB above what the tokenizer keeps; the pieces as 262,144 str objects and a
    piece -> id dict made it keep 43.3 MB (pyshell/compact_pieces.py keeps 8.2 MB)."""
    tracemalloc.start()
    try:
        tokenizer = Tokenizer.from_pieces_file(pieces_cache_path(real_path))
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"tokenizer load: keeps {kept / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB")
    assert tokenizer.vocab_size == 262_144
    assert kept < 12e6
    assert peak - kept < 8e6


def test_chars_before_a_segment_mark():
    """What the segmenter may not cut after, found in the pieces' UTF-8."""
    pieces = ["\u2581a", "b\u2581c", "\u2581\u2581", "\u00e9\u2581", "x\n", "\U0001f600\u2581"]
    utf8 = "\x00".join(pieces).encode("utf-8")
    # "▁▁" starts with the mark, so the placeholder stands for the first "▁" too.
    assert _chars_before(utf8, "\u2581") == {"b", "\x01", "\u2581", "\u00e9", "\U0001f600"}
    assert _chars_before(utf8, "\n") == {"x"}
    assert _chars_before(utf8, "\t") == set()
    assert _chars_before("\u2581\u2581".encode(), "\u2581") == {"\u2581"}


def test_random_strings_equal_sentencepiece(real, oracle, tiny_bytes):
    assert_same_as_sentencepiece(real, oracle, random_texts(5000, seed=1))
    assert_same_as_sentencepiece(
        tokenizer_from_bytes(tiny_bytes),
        spm.SentencePieceProcessor(model_proto=tiny_bytes),
        random_texts(2000, seed=2),
    )


# --- tiny models: other settings and code paths ---------------------------------


def corpus_sample() -> list[str]:
    return EDGE_CASES + [t for _, t in debian_corpus()[::4]]


def test_tiny_tokenizer_equals_sentencepiece(tiny_bytes):
    assert_same_as_sentencepiece(
        tokenizer_from_bytes(tiny_bytes),
        spm.SentencePieceProcessor(model_proto=tiny_bytes),
        corpus_sample(),
    )


def test_unused_pieces_are_split_back_like_sentencepiece(tiny_bytes):
    """UNUSED pieces may be merged but not emitted: sentencepiece splits them back
    into the pair that formed them. Gemma has none; this model has 40."""
    model = parse_model_proto(tiny_bytes)
    merged = [i for i, (p, t) in enumerate(zip(model.pieces, model.types)) if t == 1 and len(p) > 1]
    unused = merged[::3][:40]
    data = with_piece_types(tiny_bytes, {i: UNUSED for i in unused})
    tokenizer = tokenizer_from_bytes(data)
    assert tokenizer._segmenter is None  # whole-text path
    texts = corpus_sample()[:120] + random_texts(1000, seed=3)
    before = spm.SentencePieceProcessor(model_proto=tiny_bytes)
    hits = sum(i in set(unused) for t in texts for i in spm_encode(before, t))
    assert hits > 1000  # the texts do exercise resegmentation
    assert_same_as_sentencepiece(tokenizer, spm.SentencePieceProcessor(model_proto=data), texts)


def test_without_byte_fallback_unknown_runs_are_one_unk():
    data = train_tiny_tokenizer(byte_fallback=False, vocab_size=300)
    tokenizer = tokenizer_from_bytes(data)
    processor = spm.SentencePieceProcessor(model_proto=data)
    assert tokenizer.encode("日本語 x 日本") == spm_encode(processor, "日本語 x 日本")
    assert tokenizer.encode("日本語").count(3) == 1
    texts = corpus_sample()[:100]
    for text in texts:
        assert tokenizer.encode(text) == spm_encode(processor, text), text[:60]
        assert tokenizer.decode(tokenizer.encode(text)) == processor.decode(
            spm_encode(processor, text)
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model_type": "unigram"}, "only BPE"),
        ({"add_dummy_prefix": True}, "add_dummy_prefix"),
        ({"remove_extra_whitespaces": True}, "remove_extra_whitespaces"),
        ({"normalization_rule_name": "nmt_nfkc"}, "identity normalizer"),
    ],
)
def test_unsupported_models_are_refused(options, message):
    data = train_tiny_tokenizer(**options)
    with pytest.raises(TokenizerModelError, match=message):
        tokenizer_from_bytes(data)


def test_garbage_is_not_a_model():
    with pytest.raises(TokenizerModelError):
        parse_model_proto(b"\x0a\xff\xff\xff")
    with pytest.raises(TokenizerModelError):
        parse_model_proto(b"")


def test_protobuf_reader_handles_layouts_the_fast_path_skips(tiny_bytes):
    """Long pieces, missing scores, odd field order, fields we ignore: same as protobuf."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(tiny_bytes)
    proto.pieces[10].piece = "long" * 60  # 240 bytes: a two-byte length
    proto.pieces[11].ClearField("score")
    proto.pieces[12].type = UNUSED
    proto.trainer_spec.pad_id = -1
    extra = pb.ModelProto.SentencePiece(piece="zz", score=-1.5, type=1)
    # type before piece and score: legal protobuf, not the usual order.
    reordered = b"\x18\x01" + extra.SerializeToString()
    unknown_fields = (
        b"\x38\x05" + b"\x32\x03abc" + b"\x41" + bytes(8)
    )  # 7: varint, 6: bytes, 8: 64-bit
    data = (
        proto.SerializeToString() + unknown_fields + b"\x0a" + bytes([len(reordered)]) + reordered
    )
    model = parse_model_proto(data)
    expected = pb.ModelProto()
    expected.ParseFromString(data)
    assert model.pieces == [p.piece for p in expected.pieces]
    assert model.scores == [p.score for p in expected.pieces]
    assert list(model.types) == [p.type for p in expected.pieces]
    assert (model.bos_piece, model.byte_fallback, model.add_dummy_prefix) == ("<bos>", True, False)
