"""Named export errors: each message says what is wrong and what to do."""


class ExportError(Exception):
    """An export that cannot go on; the CLI prints the message as one line."""


class SourceError(ExportError):
    """The model source (GGUF file or Hugging Face folder) is missing or unusable."""


class OutputError(ExportError):
    """The output folder cannot be written."""
