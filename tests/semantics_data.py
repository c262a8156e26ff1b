"""The project's reference tables, shared by the self-tests.

The 'SAME' crops are the reference rows of docs/semantics.md, 'SAME conventions'; the seed 000 output is
the worked example in docs/semantics.md, 'Worked examples'. They are written out by hand, not computed
by the code: tests compare the code against them.
"""

# docs/semantics.md, 'SAME conventions', column 'TF = JAX = Keras' ('SAME', d = 1, op = 0): (i, k, s) -> (cb, ca).
SAME_TF_JAX_KERAS = [
    ((3, 3, 1), (1, 1)),
    ((3, 2, 1), (0, 1)),
    ((3, 3, 2), (0, 1)),
    ((3, 4, 1), (1, 2)),
    ((3, 1, 2), (0, -1)),
    ((3, 1, 3), (0, -2)),
]

# Seed 000: ConvTranspose2d(1, 1, 4, stride=2, padding=1, bias=False) on 4x4 ones, weight 1..16 as 4x4.
SEED000_STRIDE, SEED000_PADDING = 2, 1
SEED000_OUTPUT = [
    [6, 12, 14, 12, 14, 12, 14, 7],
    [12, 24, 28, 24, 28, 24, 28, 14],
    [20, 40, 44, 40, 44, 40, 44, 22],
    [12, 24, 28, 24, 28, 24, 28, 14],
    [20, 40, 44, 40, 44, 40, 44, 22],
    [12, 24, 28, 24, 28, 24, 28, 14],
    [20, 40, 44, 40, 44, 40, 44, 22],
    [10, 20, 22, 20, 22, 20, 22, 11],
]
