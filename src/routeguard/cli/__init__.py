"""Command-line interface: a thin driver of the library."""
