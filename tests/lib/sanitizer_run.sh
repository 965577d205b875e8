#!/usr/bin/env bash
# sanitizer_run.sh DIR COMMAND... -- runs COMMAND (a pytest suite of the `make asan` build)
# so that a sanitizer report from any process it starts fails it.
#
# The daemons a test starts write stderr to their log files, which the test removes with its
# temporary folder, and a daemon that aborts on a report may look to the test like a crash
# it provoked itself (the crash and recovery suites kill daemons on purpose). So every
# instrumented process writes its reports to files under DIR instead (ASan's and UBSan's
# log_path, file name + pid), and this script fails the run if any appeared, printing them.
# DIR is emptied first. Reports stop the process (halt_on_error; the build has
# -fno-sanitize-recover=all). LeakSanitizer runs at a clean exit (SIGTERM); a process killed
# by SIGKILL reports nothing, as it frees nothing.
set -u
dir=$1
shift
rm -rf "$dir"
mkdir -p "$dir"
common="halt_on_error=1:abort_on_error=1:print_stacktrace=1:disable_coredump=1"
export ASAN_OPTIONS="${common}:detect_leaks=1:log_path=${dir}/asan${ASAN_EXTRA_OPTIONS:+:$ASAN_EXTRA_OPTIONS}"
export UBSAN_OPTIONS="${common}:log_path=${dir}/ubsan"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
"$@"
rc=$?
reports=$(find "$dir" -type f -size +0 | sort)
if [ -n "$reports" ]; then
    for f in $reports; do
        echo "=== sanitizer report $f"
        cat "$f"
    done
    echo "sanitizer_run: $(echo "$reports" | wc -l) sanitizer report(s) above (kept in $dir)" >&2
    exit 1
fi
exit $rc
