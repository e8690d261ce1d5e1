"""Runs a command under a real pseudo-terminal (stdin, stdout and stderr are the TTY).

Usage: python3 pty-run.py COMMAND [ARG...]
Writes "pid N" (the command's own process id) as the first line on stderr, relays
everything the command writes to the terminal onto stdout, and exits with the
command's exit code (128 + N when a signal N ended it).
"""
import os
import pty
import select
import sys

pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])

sys.stderr.write(f"pid {pid}\n")
sys.stderr.flush()
out = sys.stdout.buffer
while True:
    try:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        data = os.read(fd, 65536)
    except OSError:  # EIO: the terminal's last writer is gone
        break
    if not data:
        break
    out.write(data)
    out.flush()
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
