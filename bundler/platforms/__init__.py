"""The platforms: CodaLab's and Codabench's facts, the competition.yaml writers, check's rules and the worker simulation."""
