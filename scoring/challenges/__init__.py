"""One module per challenge; each defines CHALLENGE (see scoring.challenge)."""
