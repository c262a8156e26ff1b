"""Segfaults on every call: each test must record its crash once and move on, in seconds. With
``CONVT_TEST_CALL_LOG`` set, each call first appends its process id to that file (to count calls)."""

import os
import signal


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    log = os.environ.get("CONVT_TEST_CALL_LOG")
    if log:
        with open(log, "a") as file:
            file.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGSEGV)
