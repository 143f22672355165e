"""Bundles: assembly, reference resolution, the starting kit, deterministic zips and the leak guard."""
