"""Conteur's static site: sources in web/static/, `python -m web.build`, `python -m web.serve`."""
