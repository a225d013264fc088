#!/bin/bash
# Side-by-side benchmarks: our Rust programs against Debian's daemontools, ucspi-tcp, s6,
# runit and stunnel4, and against IndiMail's own C build; then the report.
#
#   bash bench/run.sh [--quick] [-n N] [-r ROUNDS] [-v]
#
# Installs the Debian peers if absent (scripts/need-packages), builds IndiMail's C
# programs if absent (the reference tarballs' build.sh, found in a `shared/reference/`
# beside the repository or above it, or $INDIMAIL_REF_BUILD; into $INDIMAIL_REF, default
# /opt/indimail-ref), builds our release binaries, syncs (memory figures count a freshly
# written binary's unwritten pages as Private_Dirty), records the machine, runs every
# workload, then writes bench/report/ (README.md, SVG charts, results.tsv) and the report
# block of the project's README.md.
# --quick runs every workload at tiny sizes: it proves the harness works and measures
# nothing. Options are passed to each workload. Needs root: apt-get, setuidgid nobody.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ours="$root/target/release"
theirs=/usr/bin
out="$here/report"
workloads="chain supervise-restart supervise-memory multilog tai64n tai64nlocal
  svscan-startup svscan-idle svscan-scale svscan-pickup tcpserver tcpserver-scale tcprules tls plugin"

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: must run as root (apt-get install, setuidgid nobody)" >&2
  exit 1
fi

# daemontools only Suggests daemontools-run (which would start svscan) and runit only
# Recommends runit-init: need-packages installs without Recommends. busybox's static echo
# is the program the tcpserver workloads serve; stunnel4 and openssl the TLS peer and its
# certificate; gcc the plugin workload's plugin and programs.
"$root/scripts/need-packages" daemontools ucspi-tcp s6 runit busybox-static stunnel4 \
  openssl gcc libc6-dev
if dpkg-query -W -f='${Status}' daemontools-run 2>/dev/null | grep -q 'ok installed'; then
  echo "bench/run.sh: warning: daemontools-run is installed; it may run svscan" >&2
fi

# IndiMail's own C programs.
ref=${INDIMAIL_REF:-/opt/indimail-ref}
if [ ! -x "$ref/sbin/supervise" ] || [ ! -x "$ref/bin/tcpserver" ]; then
  build=${INDIMAIL_REF_BUILD:-}
  dir=$root
  while [ -z "$build" ] && [ "$dir" != / ]; do
    dir=$(dirname "$dir")
    [ -x "$dir/shared/reference/build.sh" ] && build=$dir/shared/reference/build.sh
  done
  if [ -n "$build" ]; then
    echo "bench/run.sh: building IndiMail's C programs into $ref ($build)" >&2
    PREFIX=$ref sh "$build"
  else
    echo "bench/run.sh: warning: no shared/reference/build.sh found; IndiMail's C programs left out" >&2
  fi
fi
indimail=()
if [ -x "$ref/sbin/supervise" ] && [ -x "$ref/bin/tcpserver" ]; then
  indimail=(--indimail "$ref")
fi

(cd "$root" && cargo build --release --workspace --bins)
sync

quick=()
for a in "$@"; do
  case $a in -q | --quick) quick=(--quick) ;; esac
done

mkdir -p "$out"
results="$out/results.tsv"
rm -f "$results"
"$ours/bench" machine --results "$results" "${indimail[@]}" "${quick[@]}"

failed=
for w in $workloads; do
  echo "== $w" >&2
  if ! "$ours/bench" "$w" --ours "$ours" --theirs "$theirs" "${indimail[@]}" \
      --results "$results" "$@"; then
    failed="$failed $w"
  fi
done

# Every workload kills what it started; make sure (processes working in its scratch
# directories, whose names start with bench-).
left=
for p in /proc/[0-9]*; do
  case $(readlink "$p/cwd" 2>/dev/null) in
  "${TMPDIR:-/tmp}"/bench-*) left="$left ${p#/proc/}" ;;
  esac
done
if [ -n "$left" ]; then
  echo "bench/run.sh: warning: processes left behind, killing:$left" >&2
  # shellcheck disable=SC2086
  kill -9 $left 2>/dev/null || true
  failed="$failed (processes-left-behind)"
fi

"$ours/bench" report --results "$results" --out "$out" --readme "$root/README.md"
echo "bench/run.sh: report in $out/README.md" >&2
if [ -n "$failed" ]; then
  echo "bench/run.sh: failed workloads:$failed" >&2
  exit 1
fi
