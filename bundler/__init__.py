"""vipriors-bench bundler: from an organiser's competition.yaml to a bundle CodaLab accepts."""
