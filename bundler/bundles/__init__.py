"""Bundles: assembly, the check against the platform's rules, reference resolution, the starting kit and the leak guard."""
