"""awaitwhat, installed: the CLI, libawaitwhat.so and the gdb and lldb front ends, in this
package's directory. `awaitwhat init gdb|lldb` prints the line that loads a front end."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.path.join(HERE, "bin", "awaitwhat")
GDB_SCRIPT = os.path.join(HERE, "gdb", "awaitwhat.py")
LLDB_SCRIPT = os.path.join(HERE, "lldb", "awaitwhat.py")
