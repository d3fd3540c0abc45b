"""Side-by-side benchmarks: Conteur against the peers a user would pick instead.

`python -m bench` (or `./conteur bench`) serves every contender from one local
origin, drives headless Chromium with Playwright, and writes bench/RESULTS.md,
bench/results.json and bench/chart.png. See bench/cli.py for the steps.
"""
