"""One chart a reader takes in at a glance: Conteur's advantage over each peer.

Each row is a metric, each bar a peer; a bar is the median of the pair-by-pair
ratios on a log scale around 1×: to the right Conteur did better, to the left
the peer did. The SVG is drawn here and rasterised to PNG by the same headless
Chromium the bench drives, so no plotting library is needed.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

from playwright.sync_api import sync_playwright

from harness.chromium import CHROMIUM, CHROMIUM_ARGS

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
WIDTH, ROW, BAR, LEFT, RIGHT, TOP = 1100, 46, 13, 330, 60, 110


def _fmt(ratio: float) -> str:
    return f"×{ratio:.2f}" if ratio < 10 else f"×{ratio:.0f}"


def ratio_svg(title: str, subtitle: str, rows: list[str], peers: list[str], ratios: dict) -> str:
    """ratios[(metric label, peer label)] = {"median", "min", "max"} or None."""
    row_h = max(ROW, len(peers) * (BAR + 3) + 12)
    height = TOP + row_h * len(rows) + 70
    span = 1.0  # log10 range each side: grows to fit the data
    for r in ratios.values():
        if r:
            span = max(span, abs(math.log10(r["min"])), abs(math.log10(r["max"])))
    span = math.ceil(span * 2) / 2
    plot = WIDTH - LEFT - RIGHT
    x = lambda ratio: LEFT + plot / 2 + math.log10(ratio) / span * plot / 2
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            'font-family="DejaVu Sans, Arial, sans-serif">'
        ),
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="20" y="34" font-size="22" font-weight="bold">{html.escape(title)}</text>',
        f'<text x="20" y="60" font-size="14" fill="#444">{html.escape(subtitle)}</text>',
    ]
    # Legend.
    lx = 20
    for i, peer in enumerate(peers):
        out.append(
            f'<rect x="{lx}" y="76" width="14" height="14" fill="{COLOURS[i % len(COLOURS)]}"/>'
        )
        out.append(f'<text x="{lx + 20}" y="88" font-size="14">vs {html.escape(peer)}</text>')
        lx += 30 + 8 * len(peer) + 40
    for row in range(0, len(rows), 2):  # zebra stripes under everything else
        out.append(
            f'<rect x="0" y="{TOP + row * row_h}" width="{WIDTH}" height="{row_h}" fill="#f3f3f3"/>'
        )
    # Grid: 1-2-5 ratios each side of the 1× line.
    top, bottom = TOP - 10, TOP + row_h * len(rows)
    ticks = [1.0] + [m * 10**e for e in range(4) for m in (2, 5, 10) if m * 10**e <= 10**span]
    for ratio in sorted(set(ticks)):
        for value in {ratio, 1 / ratio}:
            gx = x(value)
            label = f"×{value:g}" if value >= 1 else f"×1/{1 / value:g}"
            colour = "#222" if value == 1 else "#ddd"
            out.append(
                f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{bottom}" stroke="{colour}"/>'
            )
            out.append(
                f'<text x="{gx:.1f}" y="{bottom + 18}" font-size="12" text-anchor="middle" '
                f'fill="#555">{label}</text>'
            )
    mid = LEFT + plot / 2
    out.append(
        f'<text x="{mid + 8}" y="{bottom + 40}" font-size="13" fill="#2a7">Conteur better →</text>'
    )
    out.append(
        f'<text x="{mid - 8}" y="{bottom + 40}" font-size="13" text-anchor="end" '
        'fill="#c33">← peer better</text>'
    )
    for row, metric in enumerate(rows):
        y0 = TOP + row * row_h
        out.append(
            f'<text x="{LEFT - 12}" y="{y0 + row_h / 2 + 4}" font-size="14" '
            f'text-anchor="end">{html.escape(metric)}</text>'
        )
        for i, peer in enumerate(peers):
            r = ratios.get((metric, peer))
            by = y0 + (row_h - len(peers) * (BAR + 3)) / 2 + i * (BAR + 3)
            if not r:
                out.append(
                    f'<text x="{mid + 6}" y="{by + BAR - 2}" font-size="11" fill="#888">n/a</text>'
                )
                continue
            colour = COLOURS[i % len(COLOURS)]
            x1, x0 = x(r["median"]), mid
            out.append(
                f'<rect x="{min(x0, x1):.1f}" y="{by:.1f}" width="{abs(x1 - x0):.1f}" '
                f'height="{BAR}" fill="{colour}"/>'
            )
            # min–max whisker
            out.append(
                f'<line x1="{x(r["min"]):.1f}" y1="{by + BAR / 2:.1f}" x2="{x(r["max"]):.1f}" '
                f'y2="{by + BAR / 2:.1f}" stroke="#000" stroke-width="1"/>'
            )
            anchor, tx = ("start", max(x1, x(r["max"])) + 6) if r["median"] >= 1 else (
                "end", min(x1, x(r["min"])) - 6)  # fmt: skip
            out.append(
                f'<text x="{tx:.1f}" y="{by + BAR - 2:.1f}" font-size="12" '
                f'text-anchor="{anchor}">{_fmt(r["median"])}</text>'
            )
    out.append("</svg>")
    return "\n".join(out)


def render_png(svg: str, out: Path) -> None:
    """Rasterise the SVG with headless Chromium (2× for crisp text)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(device_scale_factor=1)
            page.set_content(f"<html><body style='margin:0'>{svg}</body></html>")
            page.locator("svg").screenshot(path=str(out))
        finally:
            browser.close()
