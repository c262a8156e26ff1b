"""Never returns, on any call. With ``CONVT_TEST_CALL_LOG`` set, each call first appends its process id
to that file, so a test can find the worker that is stuck in the call."""

import os
import time


def conv_transpose(x, w, bias, *, stride, padding, output_padding, dilation, groups):
    log = os.environ.get("CONVT_TEST_CALL_LOG")
    if log:
        with open(log, "a") as file:
            file.write(f"{os.getpid()}\n")
    time.sleep(3600)
