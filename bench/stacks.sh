#!/usr/bin/env bash
# Benchmark: py-await-stacks in gdb on a live process with 10,000 stuck tasks.
# Prints seconds, read callbacks and bytes read, and ratios against anchors measured in the
# same run: gdb attaching and detaching alone, and CPython's own py-bt (python3.X-gdb.py).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
version=${AW_BENCH_PYTHON:-3.12.1}
tasks=${AW_TASKS:-10000}
python="$root/versions/$version/bin/python${version%.*}"
command -v bc >/dev/null || { apt-get update -qq; apt-get install -y -qq bc >/dev/null; }
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
AW_TASKS=$tasks "$python" tests/scenarios/many_tasks.py "$work/oracle.json" >/dev/null &
pid=$!
for _ in $(seq 600); do [ -f "$work/oracle.json" ] && break; sleep 0.1; done
gdbrun() { gdb -nx -batch -iex 'set auto-load off' -p "$pid" "$@" >"$work/out" 2>&1; }
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
best() { local b=999 s; for _ in 1 2 3; do s=$(seconds "$@"); b=$(echo "if ($s < $b) $s else $b" | bc); done; echo "$b"; }
attach=$(best gdbrun -ex detach)
ours=$(best gdbrun -ex 'source gdb/awaitwhat.py' -ex "py-await-stacks --all --stats > $work/stacks.txt")
grep -o 'awaitwhat: [0-9]* read callbacks, [0-9]* bytes read' "$work/out" || true
shown=$(grep -c "^Task '" "$work/stacks.txt" || true)
libpython="$root/versions/$version/bin/python${version%.*}-gdb.py"
pybt=NA
if [ -f "$libpython" ]; then pybt=$(best gdbrun -ex "source $libpython" -ex 'py-bt'); fi
echo "tasks shown: $shown of $tasks (CPython $version)"
printf 'gdb attach+detach alone : %6.2f s\n' "$attach"
printf 'CPython py-bt (no tasks): %6s s\n' "$pybt"
printf 'awaitwhat py-await-stacks: %6.2f s  (%.2fx attach alone; %.2f s over it; target < 2 s)\n' \
  "$ours" "$(echo "$ours / $attach" | bc -l)" "$(echo "$ours - $attach" | bc -l)"

# CPython 3.14's own tool on the same workload, when the sid chroot is there (scripts/setup-sid):
# `python3.14 -m asyncio ps PID` against `awaitwhat stacks --pid PID` and py-await-graph.
sid=${AW_SID:-/opt/sid}
if [ -x "$sid/usr/bin/python3.14" ]; then
  mkdir -p "$sid/tmp/awaitwhat-bench"
  cp -r tests/scenarios "$sid/tmp/awaitwhat-bench/"
  rm -f "$sid/tmp/awaitwhat-bench/oracle.json"
  AW_TASKS=$tasks chroot "$sid" python3.14 /tmp/awaitwhat-bench/scenarios/many_tasks.py /tmp/awaitwhat-bench/oracle.json >/dev/null &
  for _ in $(seq 600); do [ -f "$sid/tmp/awaitwhat-bench/oracle.json" ] && break; sleep 0.1; done
  spid=$(pgrep -f 'python3.14 /tmp/awaitwhat-bench/scenarios/many_tasks.py' | head -1)
  ps_time=$(best chroot "$sid" python3.14 -m asyncio ps "$spid")
  cli_time=$(best target/release/awaitwhat stacks --pid "$spid" --all --no-source)
  kill "$spid" 2>/dev/null || true
  printf 'CPython 3.14 `python -m asyncio ps`: %6.2f s\n' "$ps_time"
  printf 'awaitwhat stacks --pid (3.14)     : %6.2f s  (%.1fx faster)\n' "$cli_time" "$(echo "$ps_time / $cli_time" | bc -l)"
fi
