#!/usr/bin/env python3
"""CPU seconds (user + system) used so far by processes, from /proc, for the benchmarks.

  proc_cpu.py PID...          one figure per PID: the process and the children it has reaped
  proc_cpu.py --tree PID      one figure: PID, its live children and the children it has reaped
                              (a PostgreSQL postmaster and all its backends, past and present)
A process that is gone counts 0. Take it before and after a phase and subtract."""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def fields(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2:].split()  # after "pid (comm) ": state is field 3


def cpu(pid):
    f = fields(pid)
    if f is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat(5), i.e. 11-14 after comm.
    return sum(int(x) for x in f[11:15]) / TICK


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = fields(d)
            if f is not None and f[1] == str(ppid):  # ppid is field 4
                out.append(int(d))
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--tree":
        root = int(args[1])
        print(f"{cpu(root) + sum(cpu(c) for c in children(root)):.2f}")
    else:
        print(" ".join(f"{cpu(int(p)):.2f}" for p in args))
