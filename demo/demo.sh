#!/usr/bin/env bash
# make demo: what the stack can do today, end to end, without root.
# Grows with each program family; now: the envdir engine and the chain-loaders
# applied to an IndiMail-style service's variables/ tree.
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
printf '\ndemo done (files in %s)\n' "$work"
