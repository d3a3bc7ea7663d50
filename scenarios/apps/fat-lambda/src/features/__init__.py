"""The shop's features; the build puts into each function's package only the features it serves."""
