"""vipriors-bench bundler: from an organiser's competition.yaml to a bundle Codabench (or CodaLab) accepts.

Its subpackages are layers, lowest first (``LAYERS``); a module imports from its own subpackage or from a lower
layer, never sideways or up (tests/test_layers.py names any import that does)::

    ground < config < data, pages, platforms < bundles < results, rehearsal < cli < __main__

- ground: what every part uses: the bundle's member names (layout), deterministic zips and folders, the platforms'
  facts, the editions' folders and the default edition (editions). Atomic writes are ``scoring.files`` (the scoring
  program needs them too; one copy).
- config: the YAML an organiser edits (competition.yaml, event.yaml), read from the edition's folder a command is
  given: the folder is passed down as an argument, never held in a module.
- data, pages, platforms: the public data and references (``bundler data``), the rendered pages, and what each
  platform is given (its competition.yaml) and does (its worker, simulated).
- bundles: a bundle's assembly, check, kit and references, and the leak guard.
- results, rehearsal: the final ranking after the close; the whole edition rehearsed on generated data.
- cli: the command, which ties them together (``python -m bundler`` runs it).
"""

#: the layers of subpackages (and top-level modules), lowest first; those of one layer never import each other
LAYERS = (("ground",), ("config",), ("data", "pages", "platforms"), ("bundles",), ("results", "rehearsal"), ("cli",),
          ("__main__",))
