"""Hypothesis strategies in each framework's own parameter space, valid and invalid; one module per dialect."""
