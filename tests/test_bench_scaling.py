"""bench/scaling.py: the context-scaling table, notes and chart, from measured points."""

from __future__ import annotations

from bench.scaling import CONTEXTS, scaling_notes, scaling_rows, scaling_section, scaling_svg


def entry(label: str, decode: list[float], ttft: list[float], pss: list[float]) -> dict:
    points = [
        {"context": n, "ttft_s": t, "decode_tokens_per_s": d, "peak_pss_mb": m}
        for n, d, t, m in zip(CONTEXTS, decode, ttft, pss, strict=True)
    ]
    return {"label": label, "load_s": 4.5, "points": points}


def scaling() -> dict:
    return {
        "contexts": list(CONTEXTS),
        "decode_tokens": 32,
        "contenders": {
            "conteur-engine": entry(
                "Conteur engine", [16.0, 12.0, 8.0], [1.2, 3.7, 27.0], [1000, 1010, 1400]
            ),
            "wllama": entry("wllama", [8.0, 6.0, 4.0], [4.0, 20.0, 82.0], [950, 840, 840]),
        },
    }


def test_rows_give_every_context_of_every_contender():
    header, _, *rows = scaling_rows(scaling())
    assert "time to first token" in header and "peak PSS" in header
    assert rows[0] == "| Conteur engine | 128 | 1.20 | 16.00 | 1,000 |"
    assert rows[-1] == "| wllama | 2,048 | 82.00 | 4.00 | 840 |"
    assert len(rows) == 2 * len(CONTEXTS)


def test_notes_say_how_each_figure_grew_and_the_ratio_to_wllama():
    notes = "\n".join(scaling_notes(scaling()))
    assert "Conteur engine: decode at 2,048 tokens of context is ×0.50 its rate at 128" in notes
    assert "peak PSS 1,000 → 1,400 MB (+400 MB)" in notes
    assert "context 128 → 2,048: ×2.00 → ×2.00 → ×2.00" in notes
    # (3 global layers × 2,048 + 15 sliding layers × 511 positions) × 1,024 bytes (float16)
    assert "14.1 MB at 2,048" in notes
    assert "9.4 MB at 512" in notes  # 18 layers × 512 × 1,024 bytes: below the window
    assert "every position of every layer: 37.7 MB at 2,048" in notes


def test_a_failed_contender_is_reported_not_charted():
    data = scaling()
    data["contenders"]["wllama"] = {"label": "wllama", "error": "RuntimeError: no token"}
    assert "| wllama | failed: RuntimeError: no token | | | |" in scaling_rows(data)
    svg = scaling_svg(data, "subtitle")
    assert svg.count("<polyline") == 3  # three panels, Conteur's line only
    assert "wllama" not in svg


def test_the_section_is_left_out_without_scaling_runs():
    assert scaling_section({}) == []
    assert scaling_section({"scaling": None}) == []
    assert scaling_section({"scaling": scaling()})[0] == "## How it grows with the story's context"
