"""The command line, one module per command; ``python -m acnotes`` dispatches to them."""
