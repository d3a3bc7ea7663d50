"""The sandbox's Textual TUI (`sandbox`, `sandbox tui [--replay FILE]`): see tui/app.py."""
