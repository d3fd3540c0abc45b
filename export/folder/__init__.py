"""The model folder on disk: its layout and version, its files, written all at once.

layout.py        file names, EXPORT_VERSION, is_current
data_files.py    each graph with its own external data file, and its chunk offsets
notice.py        the NOTICE of modifications (both graphs)
terms.py         GEMMA_TERMS.html: the saved terms page as clean, script-free text
write.py         every file of the folder into a staging folder, conteur.json last
atomic.py        the staging folder replaces the target at once, or nothing does
"""
