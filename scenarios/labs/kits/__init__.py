"""What the checks of several labs share, one module per pattern (as scenarios/kits/ for scenarios)."""
