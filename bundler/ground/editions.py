"""Editions: the competitions folder holds one folder per edition of the challenges (its event.yaml and its
competition folders, e.g. ``competitions/2021/``) beside ``_shared/``, the page templates every edition uses.
An organiser starts the next edition by copying the last one's folder and editing its dates."""

from __future__ import annotations

from pathlib import Path

#: the upcoming edition, which every command works on unless given another (the Makefile reads this line)
DEFAULT_EDITION = "2027"
#: the folder of the competitions folder holding the templates its editions share
SHARED = "_shared"


def build_folder(edition: Path) -> Path:
    """Where an edition's outputs go by default: ``build/<edition>/`` beside the competitions folder holding the
    edition's folder, so that no two editions' outputs collide."""
    return edition.parent.parent / "build" / edition.name
