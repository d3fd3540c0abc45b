"""What the end-to-end tests and the benchmarks share to drive the built page.

Both launch the same browser the same way; neither imports the other, both
import this (docs/architecture.md, "Layout").
"""
