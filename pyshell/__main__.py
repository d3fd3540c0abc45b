"""`python -m pyshell "Once upon a time"`: see pyshell/cli.py."""

from pyshell.cli import main

raise SystemExit(main())
