"""Exits the process (no exception, no clean-up) on every call: recorded as a crash, like a segfault.
With ``CONVT_TEST_CALL_LOG`` set, each call first appends its process id to that file (to count calls)."""

import os


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    log = os.environ.get("CONVT_TEST_CALL_LOG")
    if log:
        with open(log, "a") as file:
            file.write(f"{os.getpid()}\n")
    os._exit(3)
