"""Conteur's pure-Python side: tokenizer, sampler, generation loop and prompts.

Runs unchanged in CPython and in Pyodide, so nothing here may need a compiled
dependency; import submodules directly (`from pyshell.tokenizer import Tokenizer`).
"""
