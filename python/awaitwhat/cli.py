"""The `awaitwhat` command of the installed package: `awaitwhat init gdb|lldb` prints the
line for ~/.gdbinit or ~/.lldbinit; anything else runs the bundled CLI."""

import os
import sys

from . import CLI, GDB_SCRIPT, LLDB_SCRIPT

INIT = {
    "gdb": ("~/.gdbinit", ["source %s" % GDB_SCRIPT]),
    # Without the setting, lldb stalls for seconds on every attach when no debuginfod
    # server is reachable.
    "lldb": ("~/.lldbinit", ["settings set symbols.enable-external-lookup false",
                             "command script import %s" % LLDB_SCRIPT]),
}


def main():
    args = sys.argv[1:]
    if args[:1] == ["init"]:
        if len(args) != 2 or args[1] not in INIT:
            sys.stderr.write("usage: awaitwhat init gdb|lldb  (prints the lines for ~/.gdbinit or ~/.lldbinit)\n")
            return 2
        where, lines = INIT[args[1]]
        sys.stdout.write("# awaitwhat: add to %s\n%s\n" % (where, "\n".join(lines)))
        return 0
    if not os.access(CLI, os.X_OK):
        sys.stderr.write("awaitwhat: %s is missing or not executable: reinstall the package\n" % CLI)
        return 1
    os.execv(CLI, [CLI] + args)


if __name__ == "__main__":
    sys.exit(main())
