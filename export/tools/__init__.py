"""Offline builders, off the export path: nothing in export/ imports them.

compare_schemes.py  `python -m export.tools.compare_schemes`: the scheme table
build_shortlist.py  `python -m export.tools.build_shortlist build|measure`: the CPU head
"""
