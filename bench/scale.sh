#!/usr/bin/env bash
# Benchmark: awaitwhat on server-shaped asyncio programs (tests/scenarios/scale.py) at 1,000 to
# 100,000 tasks, against the targets of the scale issue. A benchmark, not a test: it prints a
# table and a met/MISSED summary; it exits 1 only when a command failed or showed too few tasks.
#
#   bench/scale.sh                                   # everything: about an hour on 2 cores
#   AW_SIZES=1000 AW_SHAPES=own AW_VERSIONS=3.12 bench/scale.sh   # a quick run
#
# Knobs (comma-separated lists):
#   AW_SIZES     task counts                  (default 1000,10000,100000)
#   AW_SHAPES    scale.py shapes              (default shared,passed,own,locks,server)
#   AW_VERSIONS  3.12 (pyenv 3.12.1, host), 3.14 (Debian sid's, in the chroot $AW_SID)
#   AW_TOOLS     cli-pid,cli-pid-whole,cli-core,gdb,lldb,asyncio-ps,asyncio-pstree (cli-pid-whole:
#                --pause whole, the target held for the whole read; the asyncio ones: 3.14 only;
#                gdb and lldb also time their debugger attaching and detaching alone)
#   AW_TIMEOUT   seconds allowed to each measured command (default 300)
#   AW_SID       the sid chroot (default /opt/sid, made by scripts/setup-sid)
#   AW_RESULTS   also keep the raw rows (TSV) in this file
#
# One scenario process per (version, shape, N); every tool is measured on that same process,
# one after the other, each under `/usr/bin/time` (wall seconds, peak RSS) and `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

sizes=${AW_SIZES:-1000,10000,100000}
shapes=${AW_SHAPES:-shared,passed,own,locks,server}
versions=${AW_VERSIONS:-3.12,3.14}
tools=${AW_TOOLS:-cli-pid,cli-pid-whole,cli-core,gdb,lldb,asyncio-ps,asyncio-pstree}
limit=${AW_TIMEOUT:-300}
sid=${AW_SID:-/opt/sid}
sid_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cli=$repo/target/release/awaitwhat
lldb_settings='settings set symbols.enable-external-lookup false' # else each attach stalls ~5 s

die() { echo "bench/scale.sh: $*" >&2; exit 2; }
in_list() { [[ ",$2," == *",$1,"* ]]; }
want() { in_list "$1" "$tools"; }

# ---- check the knobs and what the run needs, before starting anything
for s in ${shapes//,/ }; do in_list "$s" shared,passed,own,locks,server || die "AW_SHAPES: unknown shape $s"; done
for v in ${versions//,/ }; do in_list "$v" 3.12,3.14 || die "AW_VERSIONS: expected 3.12 and/or 3.14, got $v"; done
for t in ${tools//,/ }; do
  in_list "$t" cli-pid,cli-pid-whole,cli-core,gdb,lldb,asyncio-ps,asyncio-pstree || die "AW_TOOLS: unknown tool $t"
done
for n in ${sizes//,/ }; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "AW_SIZES: not a task count: $n"; done
# Ascending, so each (version, shape, tool) meets its N=1,000 row (the flatness baseline) first.
sizes=$(tr , '\n' <<<"$sizes" | sort -n | uniq | paste -sd,)

[ -x /usr/bin/time ] || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
[ -x "$cli" ] || cargo build --release --quiet
if want gdb || want cli-core; then command -v gdb >/dev/null && command -v gcore >/dev/null || die "needs gdb and gcore"; fi
if want lldb; then command -v lldb-22 >/dev/null || die "needs lldb-22: apt-get install lldb-22 python3-lldb-22"; fi
python312=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")/versions/3.12.1/bin/python3.12
if in_list 3.12 "$versions"; then [ -x "$python312" ] || die "no $python312 (scripts/setup installs pyenv's 3.12.1)"; fi
if in_list 3.14 "$versions"; then
  # Loud on purpose: a benchmark that quietly drops half its rows looks like a passing one.
  [ -x "$sid/usr/bin/python3.14" ] || die "no Debian sid chroot at $sid: make it with  scripts/setup-sid $sid  (or leave 3.14 out of AW_VERSIONS)"
  mountpoint -q "$sid/proc" || die "$sid/proc is not mounted: run  scripts/setup-sid $sid"
  [ "$(id -u)" = 0 ] || die "the 3.14 rows need root (chroot)"
fi

# ---- work directories and cleanup. The sid scenario must see its files inside the chroot.
work=$(mktemp -d /tmp/aw-scale.XXXXXX)
swork=
if in_list 3.14 "$versions"; then swork=$(mktemp -d "$sid/tmp/aw-scale.XXXXXX"); fi
pid=
stop_scenario() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=
}
trap 'stop_scenario; rm -rf "$work" ${swork:+"$swork"}' EXIT
trap 'exit 130' INT TERM
# One snapshot of the scenarios for the whole run: the checkout is edited while we run, and
# nothing (no __pycache__ either) is written into it.
cp -r tests/scenarios "$work/"
[ -z "$swork" ] || cp -r tests/scenarios "$swork/"
rows=$work/rows.tsv
: >"$rows"
failures=0

# ---- one scenario process
start_scenario() { # VERSION SHAPE N -> sets pid, or returns 1 with the reason on stderr
  local v=$1 shape=$2 n=$3 dir oracle
  dir=$work
  [ "$v" = 3.12 ] || dir=$swork
  oracle=$dir/oracle.json
  rm -f "$oracle"
  if [ "$v" = 3.12 ]; then
    env -u PYTHONPATH -u PYTHONHOME PYTHONDONTWRITEBYTECODE=1 AW_SHAPE="$shape" AW_TASKS="$n" AW_BENCH=1 \
      "$python312" "$work/scenarios/scale.py" "$oracle" >"$work/scenario.log" 2>&1 &
  else
    # chroot(8) execs the interpreter, so $! is the python3.14 process itself (no pgrep needed).
    env -u PYTHONPATH -u PYTHONHOME PATH="$sid_path" PYTHONDONTWRITEBYTECODE=1 AW_SHAPE="$shape" AW_TASKS="$n" \
      AW_BENCH=1 chroot "$sid" python3.14 "${swork#"$sid"}/scenarios/scale.py" "${oracle#"$sid"}" \
      >"$work/scenario.log" 2>&1 &
  fi
  pid=$!
  # The scenario writes its oracle (atomically) once every task is parked: ~15 s at 100,000.
  local deadline=$((SECONDS + 900))
  until [ -f "$oracle" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "scenario $v $shape $n exited before it was ready:" >&2; tail -20 "$work/scenario.log" >&2; pid=; return 1
    fi
    if [ $SECONDS -gt $deadline ]; then echo "scenario $v $shape $n: not ready after 900 s" >&2; return 1; fi
    sleep 0.2
  done
  rm -f "$oracle" # up to ~80 MB at 100,000 tasks, and nothing here reads it
}

# ---- measuring
# measure OUT CMD...: CMD's stdout to OUT, stderr to OUT.err; sets rc, secs, rss_kb.
measure() {
  local out=$1; shift
  rc=0
  # Wall time to the millisecond (time(1)'s %e has 10 ms steps: all of a 1,000-task run).
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$work/time" timeout -k 5 "$limit" "$@" >"$out" 2>"$out.err" </dev/null || rc=$?
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  # time(1) puts "Command exited with non-zero status N" before its line when CMD fails.
  rss_kb=0
  read -r rss_kb < <(tail -n 1 "$work/time") || true
}
# record VERSION SHAPE N TOOL STATUS PAUSE_MS SHOWN NOTE: one raw row (uses secs, rss_kb).
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$secs" "$6" "$rss_kb" "$7" "$8" >>"$rows"
  printf '  %-15s %-8s %7ss %7s MB  %s\n' "$4" "$5" "$secs" "$((rss_kb / 1024))" "$8" >&2
  case $5 in ok | refused) ;; *) failures=$((failures + 1)) ;; esac
}
status_of() { # the status of the last measure: ok, TIMEOUT or FAIL(rc)
  if [ "$rc" = 0 ]; then echo ok; elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo TIMEOUT; else echo "FAIL($rc)"; fi
}
# A live tool must leave the target running and untraced; the CLI stops it with SIGSTOP, so a
# CLI that died mid-read would leave it stopped. Say so loudly, and let it go for the next tool.
target_note() {
  local st tracer
  st=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo gone)
  tracer=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  if [ "$st" = gone ]; then echo "TARGET GONE"; return; fi
  if [[ $st == [tT] ]] || [ "$tracer" != 0 ]; then
    echo "TARGET LEFT state $st tracer $tracer"; kill -CONT "$pid" 2>/dev/null || true
  fi
}
# check_tasks VERSION SHAPE N TOOL OUT NOTE [PAUSE]: record an awaitwhat run, checking that its
# text lists every task (the scenario's N plus its main task; "N or more" is the check).
check_tasks() {
  local v=$1 shape=$2 n=$3 tool=$4 out=$5 note=$6 pause=${7:-NA} shown status
  shown=$(grep -c '^Task ' "$out" 2>/dev/null || true)
  status=$(status_of)
  if [ "$status" = ok ] && [ "${shown:-0}" -lt "$n" ]; then
    status=SHORT
    note="only $shown of $n tasks listed${note:+; $note}"
    echo "!!! $v $shape $n $tool: $note (output: $(head -c 300 "$out" "$out.err" | tr '\n' ' '))" >&2
  fi
  if [[ $status != ok && $status != SHORT ]]; then
    note="${note:+$note; }$(tail -n 3 "$out.err" | tr '\n\t' '  ' | cut -c1-200)"
  fi
  record "$v" "$shape" "$n" "$tool" "$status" "$pause" "${shown:-0}" "$note"
}

# The host's debuggers as tests/e2e/matrix.py runs them; a sid target's files through their
# sysroot settings (gdb: before the target is loaded; lldb: before the attach).
debugger_argv() { # VERSION -> gdb_argv, lldb_argv, sysroot_argv (the CLI's)
  gdb_argv=(gdb -nx -batch -iex 'set auto-load off' -iex 'set debuginfod enabled off')
  lldb_argv=(lldb-22 -b -O "$lldb_settings")
  sysroot_argv=()
  if [ "$1" != 3.12 ]; then
    gdb_argv+=(-iex "set sysroot $sid")
    lldb_argv+=(-o "platform select host --sysroot $sid")
    sysroot_argv=(--sysroot "$sid")
  fi
}

bench_process() { # VERSION SHAPE N: every wanted tool on the running scenario $pid
  local v=$1 shape=$2 n=$3 out=$work/out.txt note pause
  debugger_argv "$v"

  if want gdb; then
    # The anchor: what gdb costs to attach to this process and detach, with no front end.
    measure "$out" "${gdb_argv[@]}" -p "$pid" -ex detach
    record "$v" "$shape" "$n" gdb-attach "$(status_of)" NA 0 "$(target_note)"
    rm -f "$out"
    measure "$work/gdb.log" "${gdb_argv[@]}" -p "$pid" -ex "source $repo/gdb/awaitwhat.py" \
      -ex "py-await-stacks --all > $out" -ex detach
    cp "$work/gdb.log.err" "$out.err"; cat "$work/gdb.log" >>"$out.err"
    check_tasks "$v" "$shape" "$n" gdb "$out" "$(target_note)"
  fi
  if want lldb; then
    measure "$out" "${lldb_argv[@]}" -o "process attach -p $pid" -o 'process detach'
    record "$v" "$shape" "$n" lldb-attach "$(status_of)" NA 0 "$(target_note)"
    rm -f "$out"
    measure "$work/lldb.log" "${lldb_argv[@]}" -o "command script import $repo/lldb/awaitwhat.py" \
      -o "process attach -p $pid" -o "awaitwhat stacks --all > $out" -o 'process detach'
    # lldb -b reports a failed command in its output, not always in its exit status.
    cp "$work/lldb.log.err" "$out.err"; grep -i 'error' "$work/lldb.log" >>"$out.err" || true
    check_tasks "$v" "$shape" "$n" lldb "$out" "$(target_note)"
  fi
  local mode
  for mode in check whole; do
    local tool=cli-pid; [ "$mode" = whole ] && tool=cli-pid-whole
    want "$tool" || continue
    measure "$out" "$cli" stacks --pid "$pid" --all --stats --pause "$mode" ${sysroot_argv[@]+"${sysroot_argv[@]}"}
    # `awaitwhat: target paused X ms of Y ms total, from Z ms: how`: how long it stood still.
    pause=$(sed -n 's/^awaitwhat: target paused \([0-9.]*\) ms.*/\1/p' "$out.err" | tail -n 1)
    note=$(sed -n 's/^awaitwhat: .* \([1-9][0-9]*\) failed reads.*/\1 failed reads/p' "$out.err")
    # The default read is checked while held; say when the check failed and it was read again.
    if grep -q '^awaitwhat: target paused .*: read again while stopped' "$out.err"; then
      note=${note:+$note; }"changed while read: read again while held"
    fi
    local t; t=$(target_note); note=${note}${t:+${note:+; }$t}
    check_tasks "$v" "$shape" "$n" "$tool" "$out" "$note" "${pause:-NA}"
  done
  if want cli-core; then
    # The host's gcore writes the core of the chroot's process too (~0.5 GB at 100,000 tasks).
    rm -f "$work/core.$pid"
    measure "$work/gcore.log" gcore -o "$work/core" "$pid"
    local gnote; gnote="gcore $secs s"; local t; t=$(target_note); gnote+=${t:+, $t}
    if [ -s "$work/core.$pid" ]; then
      measure "$out" "$cli" stacks --core "$work/core.$pid" --all --stats ${sysroot_argv[@]+"${sysroot_argv[@]}"}
      note=$(sed -n 's/^awaitwhat: .* \([1-9][0-9]*\) failed reads.*/\1 failed reads/p' "$out.err")
      check_tasks "$v" "$shape" "$n" cli-core "$out" "${note:+$note; }$gnote"
    else
      rc=1; secs=NA; rss_kb=0
      record "$v" "$shape" "$n" cli-core "FAIL(gcore)" NA 0 "no core: $(tail -n 2 "$work/gcore.log.err" | tr '\n\t' '  ')"
    fi
    rm -f "$work/core.$pid"
  fi
  if [ "$v" = 3.14 ]; then
    local verb shown status
    for verb in ps pstree; do
      want "asyncio-$verb" || continue
      measure "$out" env PATH="$sid_path" chroot "$sid" python3.14 -m asyncio "$verb" "$pid"
      status=$(status_of)
      note=$(target_note)
      if [ "$verb" = ps ]; then # the table: two header lines, then a row per (task, awaiter)
        shown=$(awk 'NR > 2 {print $2}' "$out" | sort -u | wc -l)
      else # the tree: one "(T) name" node per task (a task awaited twice is drawn twice)
        shown=$(grep -c '(T) ' "$out" || true)
      fi
      # CPython's own tool is measured, not judged: when it gives up (its remote-debugging
      # limits, or a cycle for pstree) the row says "refused" with its reason, and no ratio.
      if [ "$status" != ok ] && grep -qE 'Error retrieving tasks|cycles|limit exceeded|Too many' "$out" "$out.err"; then
        status=refused
        note="${note:+$note; }$(grep -hE 'Error retrieving tasks|cycles|limit exceeded|Too many' "$out" "$out.err" | head -n 1 | cut -c1-120)"
      elif [ "$status" != ok ]; then
        note="${note:+$note; }$(tail -n 2 "$out" "$out.err" | tr '\n\t' '  ' | cut -c1-160)"
      elif [ "$shown" -lt "$n" ]; then
        note="${note:+$note; }lists $shown tasks"
      fi
      record "$v" "$shape" "$n" "asyncio-$verb" "$status" NA "$shown" "$note"
    done
  fi
  rm -f "$out" "$out.err"
}

# ---- the run (in a function: bash parses it whole before running it, so an edit of this file
# during a long run cannot change what the run does next)
main() {
  echo "bench/scale.sh: versions $versions, shapes $shapes, sizes $sizes, tools $tools (timeout ${limit} s)" >&2
  for v in ${versions//,/ }; do
    warm=0
    for shape in ${shapes//,/ }; do
      for n in ${sizes//,/ }; do
        echo "== CPython $v, shape $shape, $n tasks" >&2
        if ! start_scenario "$v" "$shape" "$n"; then
          secs=NA; rss_kb=0
          for t in ${tools//,/ }; do
            [[ $t == asyncio-* && $v != 3.14 ]] || record "$v" "$shape" "$n" "$t" "FAIL(start)" NA 0 "the scenario did not start"
          done
          stop_scenario
          continue
        fi
        if [ $warm = 0 ]; then
          # Untimed, once per version: load gdb, lldb, the CLI and the interpreter's DWARF into the
          # page cache and save its layout (src/layout/saved.rs: later runs, the debuggers' too,
          # read it back instead of parsing the DWARF), so the first N=1,000 row (the flatness
          # baseline) does not pay for it. A first run ever on an interpreter pays the parse
          # once: up to a quarter of a second for Debian's compressed debug files.
          warm=1
          debugger_argv "$v"
          timeout "$limit" "$cli" stacks --pid "$pid" ${sysroot_argv[@]+"${sysroot_argv[@]}"} >/dev/null 2>&1 || true
          if want gdb; then timeout "$limit" "${gdb_argv[@]}" -p "$pid" -ex detach >/dev/null 2>&1 || true; fi
          if want lldb; then timeout "$limit" "${lldb_argv[@]}" -o "process attach -p $pid" -o 'process detach' >/dev/null 2>&1 || true; fi
        fi
        bench_process "$v" "$shape" "$n"
        stop_scenario
      done
    done
  done

  [ -z "${AW_RESULTS:-}" ] || cp "$rows" "$AW_RESULTS"
  python3 bench/scale_report.py "$rows"
  if [ "$failures" -gt 0 ]; then
    echo "bench/scale.sh: $failures measured command(s) failed, timed out or listed too few tasks (see the table)" >&2
    exit 1
  fi
}
main "$@"; exit $?
