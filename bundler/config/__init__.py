"""The organiser's configuration: YAML read with lines, the typed schema, competition.yaml and event.yaml."""
