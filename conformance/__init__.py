"""The conformance suite: hypothesis-generated transposed convolutions run through each framework and checked against the oracle."""
