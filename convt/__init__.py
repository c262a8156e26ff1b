"""The ``convt`` command: explain, solve and compare transposed convolutions."""
