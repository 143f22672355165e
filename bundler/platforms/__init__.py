"""The platforms: CodaLab's and Codabench's competition.yaml writers and the simulation of their workers."""
