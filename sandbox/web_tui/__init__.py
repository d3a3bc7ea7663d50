"""`sandbox tui --web`: the TUI in a browser, served on 127.0.0.1 with a per-launch token (guard.py, server.py)."""
