"""Metric engines: streaming objects with update() per item and compute() at the end."""
