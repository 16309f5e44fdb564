"""TensorFlow's native start-up log lines kept off a command-line user's terminal.

TensorFlow's C++ core logs through absl before anything initialises absl's logging, so
``TF_CPP_MIN_LOG_LEVEL`` no longer silences it: on a CPU-only machine every command printed an ``I0000``
oneDNN note, a "Could not find cuda drivers" note and ``E0000 ... failed call to cuInit: ... (303)``, which
reads as a fault. The only place to stop them is the file descriptor they are written to. The command's
stderr (fd 2) becomes a pipe read by a small child process that copies every byte to the real stderr except
whole lines in absl's or TensorFlow's native log format (fatal ``F`` lines always pass). Being a separate
process, the filter survives the command's crash and still delivers what it wrote before dying (a
traceback, a faulthandler dump). img2img's own messages, Python warnings and progress bars pass unchanged.

``img2img --verbose`` or ``IMG2IMG_VERBOSE=1`` shows everything, as TensorFlow prints it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys

VERBOSE_ENV = "IMG2IMG_VERBOSE"

# Runs in the child: python -I -S -c FILTER, reading the command's stderr on fd 0, writing the real one on fd 1.
FILTER = r"""
import os, re, signal
for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE"):
    signal.signal(getattr(signal, name), signal.SIG_IGN)  # the command's signals are not ours: drain to EOF
native = re.compile(
    rb"(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./+-]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] [\w./+-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\r?$)")
maybe = re.compile(rb"[IWE]\d|\d{4}-\d\d-\d\d |WARNING: All log")
def write(data):
    while data:
        try:
            data = data[os.write(1, data):]
        except OSError:
            return
pending = b""
while True:
    try:
        chunk = os.read(0, 65536)
    except InterruptedError:
        continue
    except OSError:
        break
    if not chunk:
        break
    *lines, pending = (pending + chunk).split(b"\n")
    write(b"".join(line + b"\n" for line in lines if not native.match(line)))
    if pending and not maybe.match(pending):  # a progress bar's "\r..." or a prompt: show it now
        write(pending)
        pending = b""
if pending and not native.match(pending):
    write(pending)
"""

_child: subprocess.Popen[bytes] | None = None


def verbose_requested() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def filter_native_logs() -> bool:
    """Route fd 2 through the filter (once per process). Only when fd 2 is this process's stderr: under
    click's test runner, or with stderr already replaced, nothing changes. Returns whether it is active."""
    global _child
    if _child is not None:
        return True
    try:
        if sys.stderr is None or sys.stderr.fileno() != 2:
            return False
    except (AttributeError, ValueError, OSError):
        return False
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen([sys.executable, "-I", "-S", "-c", FILTER], stdin=read_end, stdout=2,
                                 stderr=subprocess.DEVNULL, close_fds=True)
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return False
    os.close(read_end)
    real_stderr = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)
    _child = child
    atexit.register(_finish, real_stderr)
    return True


def _finish(real_stderr: int) -> None:
    """Give fd 2 back and let the filter print the rest before the shell prompt returns."""
    global _child
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os.dup2(real_stderr, 2)  # closes our write end of the pipe: the filter reads to EOF and exits
    os.close(real_stderr)
    if _child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):  # a process we started may still hold the pipe
            _child.wait(timeout=10)
        _child = None
