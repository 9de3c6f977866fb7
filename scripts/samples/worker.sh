#!/bin/sh
# buildhost-worker: the worker of the bundled sample machines (sample-vm and sample-container).
# POSIX sh, runs under busybox. One script for both kinds of guest.
#
# Protocol
#   Endpoint   env BUILDHOST_TFTP=HOST:PORT (containers) or, failing that, the kernel command line
#              parameter buildhost.tftp=HOST:PORT from /proc/cmdline (VMs booted from a kernel),
#              or else the fw_cfg entry opt/buildhost/tftp (every VM; needs the qemu_fw_cfg
#              module), or else 196.254.111.222:69, bbot's default, where a guest on buildhost's
#              bridge network finds its own server. PORT defaults to 69. Before the first transfer
#              it waits (up to BUILDHOST_ADDRESS_WAIT seconds, default 60) for a route to the host:
#              a container's network port is made just after its process starts.
#   Task       downloads task.manifest over TFTP (busybox tftp -g), trying for up to
#              BUILDHOST_TASK_WAIT seconds (default 120) after the first failed try, at first every
#              0.05 s, then less often up to once a second: the task may arrive after the start.
#              Every `command: <shell command>` line is one command; they run in order with
#              `sh -c`, in a scratch folder, stdout and stderr captured. The first command that
#              fails stops the task. Other lines (the `: 1` version line, unknown fields) are ignored.
#   Result     uploads result.manifest, a build2 manifest:
#                : 1
#                status: success | error | abnormal
#                exit-code: N
#                log:\
#                <the log, one line per line>
#                \
#              The log is a build2 multi-line value: it ends at a line holding a lone backslash;
#              a log line that itself ends with a backslash gets one more backslash appended
#              (remove one when reading). Each command's output is preceded by `$ <command>`.
#              status is `abnormal` when the task could not be fetched (exit-code 75 then; this
#              result is tried for a few seconds only, the server may be gone).
#   Bootstrap  a task with the line `mode: bootstrap` first installs the toolchain into the guest's
#              disk: each `toolchain: FILE` line names a tar archive (FILE ending in .tar.gz or
#              .tgz: gzipped) that the worker downloads over TFTP from the same endpoint: a file
#              the agent put into the instance folder (`toolchain.tar.gz`) or a path in the
#              host's shared read-only tree, such as the toolchain the monitor publishes
#              (`toolchain/stable/build2-toolchain.tar.gz`; no `..`, no leading `/` or `.`), and unpacks
#              it into BUILDHOST_PERSIST (VMs: persist/ on the machine's disk, containers: default
#              /opt/buildhost), then syncs. A failed download or unpack ends the task with status
#              error. The commands run afterwards, in bootstrap and build mode alike, with
#              BUILDHOST_PERSIST in their environment: a build finds the toolchain there.
#   Exit code  0 on success; the failing command's exit code on error; 75 when the task could
#              not be fetched; 74 when the result could not be uploaded. The VM's init powers the
#              machine off afterwards; in a container the exit code is the container's.
# Console lines start with `buildhost-worker: `.
#
# Every process the worker starts costs milliseconds (tens of them in a loaded host's containers
# and in TCG guests), and an agent waits for them on every task (bench/turnaround): the worker
# reads and parses with the shell's own builtins, and a task of one command that succeeds at once
# starts six processes (mkdir, the two transfers, the command, the copy of its output, the
# result's escaping), where an earlier version started 34.

set -u

TASK_WAIT=${BUILDHOST_TASK_WAIT:-120}  # seconds to keep asking for task.manifest
UPLOAD_WAIT=60    # seconds to keep trying to upload result.manifest
TRY_TIMEOUT=15    # seconds one toolchain transfer may take without BIG_BLOCKS (see tftp_try)
TOOLCHAIN_TRY_TIMEOUT=${BUILDHOST_TOOLCHAIN_TIMEOUT:-900}  # seconds one toolchain download may take

say() {
  echo "buildhost-worker: $*"
}

FW_CFG_TFTP=/sys/firmware/qemu_fw_cfg/by_name/opt/buildhost/tftp/raw

# endpoint: sets EP from the first channel that names one.
endpoint() {
  if [ -n "${BUILDHOST_TFTP:-}" ]; then
    EP=$BUILDHOST_TFTP
    return 0
  fi
  if [ -r /proc/cmdline ]; then
    read -r cmdline </proc/cmdline || true
    # The kernel command line is one line of space-separated words: split it into words on purpose.
    # shellcheck disable=SC2086
    for word in $cmdline; do
      case "$word" in
        buildhost.tftp=*) EP=${word#buildhost.tftp=}; return 0 ;;
      esac
    done
  fi
  # fw_cfg's file may not end its line: read sets EP all the same.
  if [ -r "$FW_CFG_TFTP" ] && { IFS= read -r EP <"$FW_CFG_TFTP" || [ -n "$EP" ]; }; then
    return 0
  fi
  EP=196.254.111.222:69
}

# clock: sets NOW to the seconds since boot (/proc/uptime, a read without a process), or else to
# `date +%s`.
clock() {
  if [ -r /proc/uptime ] && read -r NOW _ </proc/uptime; then
    NOW=${NOW%.*}
  else
    NOW=$(date +%s)
  fi
}

# await_route: until the kernel has a route to $HOST (the guest has its address), a while at most.
# Loopback (a container on the host's network) always has one.
await_route() {
  case "$HOST" in 127.*) return 0 ;; esac
  command -v ip >/dev/null 2>&1 || return 0
  clock
  deadline=$((NOW + ${BUILDHOST_ADDRESS_WAIT:-60}))
  until ip route get "$HOST" >/dev/null 2>&1; do
    clock
    if [ "$NOW" -ge "$deadline" ]; then
      say "no route to $HOST yet; trying all the same"
      return 0
    fi
    sleep 0.2
  done
}

# tftp_try get|put LOCAL REMOTE: one transfer. busybox tftp gives up by itself after about 13 s
# without an answer (12 retries, backing off from 0.1 s to 2 s), which bounds a transfer of the
# task or the result (a block or a few). With BIG_BLOCKS=yes (toolchain downloads, thousands of
# blocks) it asks for 1468-byte blocks when busybox tftp can, and the whole transfer is bounded by
# TRY_TIMEOUT when busybox has `timeout` (which costs two more processes: not for small files).
tftp_try() {
  case "$1" in get) op=-g ;; *) op=-p ;; esac
  set -- "$op" -l "$2" -r "$3"
  if [ "${BIG_BLOCKS:-no}" = yes ]; then
    if tftp --help 2>&1 | grep -q -- '-b SIZE'; then
      set -- -b 1468 "$@"
    fi
    if command -v timeout >/dev/null 2>&1; then
      timeout "$TRY_TIMEOUT" tftp "$@" "$HOST" "$PORT"
      return
    fi
  fi
  tftp "$@" "$HOST" "$PORT"
}

# transfer get|put LOCAL REMOTE SECONDS: tries until it works or SECONDS have passed since the
# first failure. The task may be put into the TFTP folder only after the guest started, so "File
# not found" is worth waiting for. The pause between tries starts at 0.05 s and doubles up to 1 s:
# a task that comes a moment after the start is fetched a moment later, not a second later
# (bench/turnaround), and a long wait still asks only once a second. (busybox sleep takes
# fractions.)
transfer() {
  deadline=
  n=1
  pause=0.05
  while :; do
    if tftp_try "$1" "$2" "$3" 2>"$WORK/tftp.err"; then
      return 0
    fi
    if [ "$n" -eq 1 ] || [ $((n % 10)) -eq 0 ]; then
      say "$1 $3: try $n failed: $(cat "$WORK/tftp.err"); retrying for up to $4 s"
    fi
    clock
    [ -n "$deadline" ] || deadline=$((NOW + $4))
    [ "$NOW" -lt "$deadline" ] || return 1
    n=$((n + 1))
    sleep "$pause"
    case $pause in
      0.05) pause=0.1 ;; 0.1) pause=0.2 ;; 0.2) pause=0.4 ;; 0.4) pause=0.8 ;; *) pause=1 ;;
    esac
  done
}

# write_result STATUS EXIT_CODE: result.manifest from $WORK/log.
# The quoted trailing backslashes are literal: they open and close the manifest's multi-line value.
# shellcheck disable=SC1003
write_result() {
  {
    echo ": 1"
    echo "status: $1"
    echo "exit-code: $2"
    echo 'log:\'
    sed 's/\\$/\\\\/' "$WORK/log"
    echo '\'
  } >"$WORK/result.manifest"
}

# upload_result SECONDS STATUS EXIT_CODE
upload_result() {
  wait=$1
  shift
  write_result "$1" "$2"
  if transfer put "$WORK/result.manifest" result.manifest "$wait"; then
    say "uploaded result.manifest (status $1, exit code $2)"
    return 0
  fi
  say "could not upload result.manifest to $HOST:$PORT"
  return 1
}

WORK="${TMPDIR:-/tmp}/buildhost-worker.$$"
if [ -e "$WORK" ]; then rm -rf "$WORK"; fi
mkdir -p "$WORK/run" || { say "cannot create $WORK"; exit 74; }
: >"$WORK/log"

endpoint
case "$EP" in
  *:*) HOST=${EP%:*}; PORT=${EP##*:} ;;
  *) HOST=$EP; PORT=69 ;;
esac
say "TFTP endpoint $HOST:$PORT"
await_route
# The daemon gives every VM both channels; say what fw_cfg holds, so a test can compare them.
if [ -r "$FW_CFG_TFTP" ]; then
  say "fw_cfg opt/buildhost/tftp: $(cat "$FW_CFG_TFTP")"
fi

if ! transfer get "$WORK/task.manifest" task.manifest "$TASK_WAIT"; then
  say "could not download task.manifest from $HOST:$PORT"
  echo "buildhost-worker: could not download task.manifest from $HOST:$PORT" >>"$WORK/log"
  upload_result 5 abnormal 75
  exit 75
fi

# The task's lines: the first `mode:`, the `toolchain:` and `command:` lines (their values without
# the blanks after the colon), and its size. CRLF line ends and a last line without its newline
# are fine: the last control character of a line goes (the CR of a CRLF end; a tab there would
# mean nothing either). (${#line} counts bytes in the C locale the sample guests run in.)
mode=
count=0
size=0
: >"$WORK/toolchains"
: >"$WORK/commands"
while :; do
  if IFS= read -r line; then
    size=$((size + ${#line} + 1))
  elif [ -n "$line" ]; then
    size=$((size + ${#line}))
  else
    break
  fi
  line=${line%[[:cntrl:]]}
  value=${line#*:}
  value=${value#"${value%%[![:space:]]*}"}
  case "$line" in
    mode:*) [ -n "$mode" ] || mode=$value ;;
    toolchain:*) printf '%s\n' "$value" >>"$WORK/toolchains" ;;
    command:*)
      printf '%s\n' "$value" >>"$WORK/commands"
      count=$((count + 1))
      ;;
  esac
  line=
done <"$WORK/task.manifest"
say "downloaded task.manifest ($size bytes)"

# Bootstrap mode: the toolchain archives, unpacked into the persistent folder first.
BUILDHOST_PERSIST=${BUILDHOST_PERSIST:-/opt/buildhost}
export BUILDHOST_PERSIST
if [ "$mode" = bootstrap ]; then
  say "bootstrap mode: installing into $BUILDHOST_PERSIST"
  echo "buildhost-worker: bootstrap into $BUILDHOST_PERSIST" >>"$WORK/log"
  while IFS= read -r archive <&3; do
    case "$archive" in
      '' | /* | .* | */.* | */ | *//*)
        say "toolchain '$archive' is not a file name or a path in the shared tree"
        echo "buildhost-worker: toolchain '$archive' is not a file name or a path in the shared tree" >>"$WORK/log"
        upload_result "$UPLOAD_WAIT" error 65 || exit 74
        exit 65
        ;;
    esac
    local_name=${archive##*/}
    case "$archive" in *.gz | *.tgz) unzip=z ;; *) unzip= ;; esac
    # A toolchain is large: one transfer may take minutes (TOOLCHAIN_TRY_TIMEOUT), in big blocks
    # when busybox tftp has -b.
    short_timeout=$TRY_TIMEOUT
    TRY_TIMEOUT=$TOOLCHAIN_TRY_TIMEOUT
    BIG_BLOCKS=yes
    if ! transfer get "$WORK/$local_name" "$archive" 30 \
      || ! mkdir -p "$BUILDHOST_PERSIST" \
      || ! tar -x${unzip}f "$WORK/$local_name" -C "$BUILDHOST_PERSIST" >>"$WORK/log" 2>&1; then
      say "cannot install toolchain $archive"
      echo "buildhost-worker: cannot install toolchain $archive" >>"$WORK/log"
      upload_result "$UPLOAD_WAIT" error 66 || exit 74
      exit 66
    fi
    TRY_TIMEOUT=$short_timeout
    BIG_BLOCKS=no
    rm -f "$WORK/$local_name"
    say "installed toolchain $archive"
    echo "buildhost-worker: installed toolchain $archive" >>"$WORK/log"
  done 3<"$WORK/toolchains"
  sync
fi

# The commands, one per line, in order.
say "running $count command(s)"

status=success
code=0
n=0
while IFS= read -r cmd <&3; do
  n=$((n + 1))
  say "[$n/$count] \$ $cmd"
  echo "\$ $cmd" >>"$WORK/log"
  (cd "$WORK/run" && exec sh -c "$cmd") >"$WORK/out" 2>&1 </dev/null
  code=$?
  # The output to the console and into the log, in one process; awk ends every line it prints,
  # so output that does not end its last line does not run into the next line (or the log's end).
  if [ -s "$WORK/out" ]; then
    awk -v log_file="$WORK/log" '{ print; print >>log_file }' "$WORK/out"
  fi
  if [ "$code" -ne 0 ]; then
    say "[$n/$count] failed with exit code $code"
    echo "buildhost-worker: command $n failed with exit code $code" >>"$WORK/log"
    status=error
    break
  fi
done 3<"$WORK/commands"

upload_result "$UPLOAD_WAIT" "$status" "$code" || exit 74
say "done: $status"
exit "$code"
