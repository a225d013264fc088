#!/bin/bash
# Side-by-side benchmarks: our Rust programs against Debian's daemontools.
#
#   bash bench/run.sh [-n N] [-r ROUNDS] [-v]
#
# Installs the C peers if absent, builds our release binaries, syncs (memory
# figures count a freshly written binary's unwritten pages as Private_Dirty),
# then runs every workload. Options are passed to each workload. Needs root:
# apt-get, and setuidgid nobody in the chain workload.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ours="$root/target/release"
theirs=/usr/bin
workloads="chain supervise-restart supervise-memory multilog tai64n tai64nlocal svscan-startup svscan-idle tcpserver tcprules tls plugin"

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: must run as root (apt-get install, setuidgid nobody)" >&2
  exit 1
fi

if [ ! -x /usr/bin/envdir ] || ! dpkg-query -W -f='${Status}' daemontools 2>/dev/null | grep -q 'ok installed'; then
  # daemontools only Suggests daemontools-run (which would start svscan);
  # --no-install-recommends keeps Recommends out too.
  echo "bench/run.sh: installing Debian's daemontools" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends daemontools
  if dpkg-query -W -f='${Status}' daemontools-run 2>/dev/null | grep -q 'ok installed'; then
    echo "bench/run.sh: warning: daemontools-run is installed; it may run svscan" >&2
  fi
fi

if ! dpkg-query -W -f='${Status}' ucspi-tcp 2>/dev/null | grep -q 'ok installed' ||
   [ ! -x /bin/busybox ]; then
  # djb's ucspi-tcp 0.88: the peer of tcpserver and tcprules; busybox's static echo
  # is the program the tcpserver workload serves.
  echo "bench/run.sh: installing Debian's ucspi-tcp and busybox-static" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ucspi-tcp busybox-static
fi

if [ ! -x /usr/bin/stunnel4 ] || ! command -v openssl >/dev/null; then
  # stunnel4: the peer of tcpserver -n in the tls workload (same program, same
  # ECDSA P-256 certificate, made with openssl).
  echo "bench/run.sh: installing Debian's stunnel4 and openssl" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends stunnel4 openssl
fi

if ! command -v gcc >/dev/null; then
  # gcc: the plugin workload compiles its plugin and the same logic as a program.
  echo "bench/run.sh: installing gcc" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev
fi

(cd "$root" && cargo build --release --workspace --bins)
sync

for w in $workloads; do
  "$ours/bench" "$w" --ours "$ours" --theirs "$theirs" "$@"
done
