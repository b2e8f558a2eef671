"""`python -m twin ...` is the `twin` command (works where pip's script folder is not on PATH)."""

from twin.cli import main

main()
