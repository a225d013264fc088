#!/usr/bin/env bash
# make demo: what the stack can do today, end to end, without root.
# The envdir engine and the chain-loaders on an IndiMail-style variables/ tree, supervise
# with svc and svstat, then the whole stack: svctool, svscan, tcpserver, tcprules, multilog.
set -euo pipefail
bindir=$(cd "${1:-target/release}" && pwd)
export PATH="$bindir:/usr/bin:/bin"
work=$(cd "$(dirname "$0")" && pwd)/work
rm -rf "$work" && mkdir -p "$work" && cd "$work"

say() { printf '\n== %s\n' "$*"; }

say "a service tree: global variables shared through .envdir, local ones in .envfile and files"
mkdir -p control/global_vars service/qmail-smtpd.25/variables
printf '/usr/local/bin:/usr/bin:/bin\n' > control/global_vars/PATH
printf 'UTC\n' > control/global_vars/TZ
printf 'global\n' > control/global_vars/ORIGIN
cd service/qmail-smtpd.25
ln -s ../../../control/global_vars variables/.envdir
printf '# defaults for this service\nSOFT_MEM=536870912\nORIGIN=envfile\nLEFTOVER\n' > variables/.envfile
printf 'smtpd\n' > variables/ORIGIN
printf '/var/indimail/queue\n' > variables/QUEUE_BASE
: > variables/MAXDAEMONS_UNSET
for f in variables/.[!.]* variables/*; do
  if [ -L "$f" ]; then echo "  $f -> $(readlink "$f")"; else printf '  %s: %s\n' "$f" "$(tr '\n' '|' < "$f")"; fi
done

say "envdir -c variables env: only what the tree sets (ORIGIN: files beat .envdir beat .envfile)"
envdir -c variables env | sort
say "without -c the inherited environment stays, less what the tree removes (LEFTOVER, MAXDAEMONS_UNSET)"
LEFTOVER=x MAXDAEMONS_UNSET=y KEPT=z envdir variables env | grep -E '^(LEFTOVER|MAXDAEMONS_UNSET|KEPT)=' || true

say "the chain a run script uses: envdir, envuidgid, softlimit, setlock"
envdir variables envuidgid "$(id -un)" softlimit -m 536870912 -o 64 \
  setlock run.lock sh -c 'echo "UID=$UID GID=$GID open files: $(ulimit -n) data: $(ulimit -d)k ORIGIN=$ORIGIN"'

say "a second setlock -n on the held lock is refused"
setlock run.lock sh -c 'setlock -n run.lock true; echo "exit $?"' 2>&1 || true

say "errors are djb's: message on stderr, exit 111"
envdir /nonexistent true 2>&1 || echo "exit $?"
say "envdir -w keeps going with the environment unchanged"
FOO=kept envdir -w /nonexistent sh -c 'echo "FOO=$FOO"' 2>&1

say "fghack waits for a daemon that backgrounds itself"
start=$(date +%s.%N); fghack sh -c 'sleep 1 &'; end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "fghack returned after %.1f s\n", b - a }'

say "waitfor waits for an unrelated process"
sleep 0.5 & waitfor -v $!
say "supervise keeps a service running; svc controls it, svstat reports it"
cd "$work"
mkdir -p sv/clock/variables
printf 'tick\n' > sv/clock/variables/WORD
cat > sv/clock/run <<'RUN'
#!/bin/sh
echo "run started: $* (WORD=$WORD from variables/)" >> started
exec sleep 1000
RUN
chmod +x sv/clock/run
cd sv
export DISABLE_RUN=1
supervise clock 2> supervise.err &
svpid=$!
trap 'svc -dx clock 2>/dev/null; wait $svpid 2>/dev/null' EXIT
until svok clock; do sleep 0.1; done
svc -wT 5 clock
svstat clock || true
say "svc -d: the service goes down (and svstat exits 1)"
svc -dW clock
svstat clock || echo "svstat exit $?"
say "svc -u, then a crash: supervise restarts it (at most once a second)"
svc -u clock; svc -wT 5 clock
kill -9 "$(svstat clock | awk '{ print $6 }')"
sleep 1.5
svstat clock || true
cat clock/started
printf 'supervise said:\n'; sed 's/^/  /' supervise.err
say "svc -dx: service down, supervise exits"
svc -dx clock; wait $svpid; echo "supervise exited $?"
trap - EXIT

say "the whole stack: svctool lays out a QMQP service tree in a local folder"
# The host-facts layer points svctool at this folder instead of /usr, /etc/indimail,
# /service and /var/log/svc; the mail daemon is a stub that shows what the service gives it.
site="$work/site"
mkdir -p "$site/usr/bin" "$site/usr/sbin" "$site/etc/control" "$site/etc/tcp"
for p in envdir softlimit setuidgid tcpserver tcprules svc svstat; do ln -s "$bindir/$p" "$site/usr/bin/$p"; done
ln -s "$bindir/multilog" "$site/usr/sbin/multilog"
cat > "$site/usr/sbin/qmail-qmqpd" <<'STUB'
#!/bin/sh
echo "qmail-qmqpd stub: PORT=$PORT QUEUE_COUNT=$QUEUE_COUNT CONFSPLIT=$CONFSPLIT TCPREMOTEIP=$TCPREMOTEIP"
STUB
# run scripts ask `id` for the daemon account's ids: here, the user running the demo
printf '#!/bin/sh\ncase "$1" in -u) exec id -u ;; *) exec id -g ;; esac\n' > "$site/id"
chmod +x "$site/usr/sbin/qmail-qmqpd" "$site/id"
echo demo.example.com > "$site/etc/control/me"
port=20628
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
export SVCTOOL_PREFIX="$site/usr" SVCTOOL_SYSCONFDIR="$site/etc" SVCTOOL_SERVICEDIR="$site/service" \
  SVCTOOL_LOGDIR="$site/log" SVCTOOL_IDPROG="$site/id" SVCTOOL_LOGUSER="$(id -un)" \
  SVCTOOL_BINDIR="$bindir" SVCTOOL_ALLOW_USER=1
svctool --qmqp="$port" --servicedir="$site/service" --logdir="$site/log" --qbase="$site/queue" \
  --qcount=3 --qstart=1 --cntrldir=control --localip=127.0.0.1 --memory=1000000000 --maxdaemons=5
svc_dir="$site/service/qmail-qmqpd.$port"
(cd "$site" && find service -type f | sort | sed 's/^/  /')
echo "  run script's server line: $(grep -o 'tcpserver .*' "$svc_dir/run" | head -1)"

say "rules: 127.0.0.1 may connect, nobody else; qmailctl cdb builds tcp.qmqp.cdb with tcprules"
printf '127.0.0.1:allow\n:deny\n' > "$site/etc/tcp/tcp.qmqp"
qmailctl cdb

say "svscan runs the tree: supervise for the service and for its log, joined by a pipe"
svscan "$site/service" 2> "$site/svscan.err" &
scanpid=$!
stop_all() {
  kill "$scanpid" 2>/dev/null; wait "$scanpid" 2>/dev/null
  for d in "$site"/service/*/ "$site"/service/.[!.]*/; do
    if [ -d "$d" ]; then svc -dx "$d" "$d/log" 2>/dev/null || true; fi
  done
  return 0
}
trap stop_all EXIT
i=0; until svstat "$svc_dir" >/dev/null 2>&1 && svstat "$svc_dir/log" >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "the service did not come up"; cat "$site/svscan.err"; exit 1; }; sleep 0.1; done
svstat "$svc_dir" "$svc_dir/log" || true

say "a client connects through tcpserver (tcpclient on 127.0.0.1:$port)"
i=0; until reply=$(tcpclient -RHl0 127.0.0.1 "$port" sh -c 'exec cat <&6' 2>/dev/null) && [ -n "$reply" ]; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "no answer on port $port"; exit 1; }; sleep 0.1; done
echo "  $reply"

say "the log service recorded it through multilog ($site/log/qmqpd.$port/current, shown with tai64nlocal)"
i=0; until grep -q ' ok ' "$site/log/qmqpd.$port/current" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1; done
tai64nlocal < "$site/log/qmqpd.$port/current" | sed 's/^/  /'

say "deny 127.0.0.1 and rebuild the cdb: tcpserver now refuses without running the daemon"
printf '127.0.0.1:deny\n:deny\n' > "$site/etc/tcp/tcp.qmqp"
touch -d '+2 seconds' "$site/etc/tcp/tcp.qmqp" 2>/dev/null || sleep 1
qmailctl cdb
reply=$(tcpclient -RHl0 127.0.0.1 "$port" sh -c 'exec cat <&6' 2>/dev/null || true)
echo "  the client got: '${reply}'"
i=0; until grep -q ' deny ' "$site/log/qmqpd.$port/current" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1; done
tai64nlocal < "$site/log/qmqpd.$port/current" | grep ' deny ' | sed 's/^/  /'

say "svctool --rmsvc takes the service out of the running tree"
svctool --rmsvc="$svc_dir"
i=0; while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1; done
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "  port $port still open"; else echo "  port $port closed"; fi
ls -a "$site/service" | sed 's/^/  /'
stop_all
trap - EXIT
printf '\ndemo done (files in %s)\n' "$work"
