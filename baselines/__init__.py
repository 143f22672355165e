"""Baseline models, one per challenge, trained from scratch on the participants' download (see README, "Baselines")."""
