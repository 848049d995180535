"""Libraries the scenarios use, shaped like real ones (not scenarios themselves)."""
