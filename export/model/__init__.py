"""Gemma 3 itself: its hyper-parameters, its weights in one layout, and a numpy forward pass.

The lowest layer of the exporter (docs/architecture.md, "The exporter's layers"):
the readable specification every other layer builds on or checks against.

    config.py     GemmaConfig: shapes and conventions
    weights.py    Weights, Source: float32 tensors under canonical names
    reference.py  the float32 forward pass, the oracle for both graphs
"""
