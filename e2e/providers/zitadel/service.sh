#!/usr/bin/env bash
# e2e/providers/zitadel/service.sh: build (cached) and start, on loopback, the
# OpenID provider of this directory (zitadel/oidc v3's op package, main.go),
# for cmd/demo's real-provider tests. Run by .ci/services; idempotent: a
# provider already answering with the current build is left alone.
#
#   service.sh          start; prints `export SOCIALAUTH_TEST_ZITADEL_ISSUER=…`
#   service.sh --stop   stop it
#
# Progress goes to stderr; stdout carries only the export line.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADDR=127.0.0.1:9998
ISSUER=http://$ADDR
CACHE=${SOCIALAUTH_CI_CACHE:-${HOME:-/root}/.cache/socialauth-ci}
LOG_DIR=${SOCIALAUTH_CI_LOG_DIR:-/var/log/socialauth-ci}
PIDFILE=$CACHE/zitadel-op.pid

log() { printf 'zitadel: %s\n' "$*" >&2; }
die() {
	printf 'zitadel: ERROR: %s\n' "$*" >&2
	exit 1
}

# ours PID: the process is one of our builds (not a reused pid).
ours() { [[ -n $1 ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "zitadel-op-"; }

stop() {
	if [[ -f $PIDFILE ]]; then
		local pid
		pid=$(cut -d' ' -f1 "$PIDFILE")
		if ours "$pid"; then
			log "stopping pid $pid"
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		fi
		rm -f "$PIDFILE"
	fi
}

if [[ ${1:-} == --stop ]]; then
	stop
	exit 0
fi

mkdir -p "$CACHE"
mkdir -p "$LOG_DIR" 2>/dev/null || LOG_DIR=$CACHE
[[ -w $LOG_DIR ]] || LOG_DIR=$CACHE

# The binary is named after a hash of its sources: rebuilt only when they change.
hash=$(cd "$HERE" && cat go.mod go.sum ./*.go users.json | sha256sum | cut -c1-16)
bin=$CACHE/zitadel-op-$hash
if [[ ! -x $bin ]]; then
	log "building $bin"
	(cd "$HERE" && go build -o "$bin.tmp" .) >&2 || die "build failed"
	mv "$bin.tmp" "$bin"
	find "$CACHE" -maxdepth 1 -name 'zitadel-op-*' ! -name "zitadel-op-$hash" -delete 2>/dev/null || true
fi

up() { curl -fsS --max-time 2 "$ISSUER/.well-known/openid-configuration" >/dev/null 2>&1; }

running_hash=
if [[ -f $PIDFILE ]]; then
	read -r pid running_hash <"$PIDFILE" || true
	ours "${pid:-}" || running_hash=
fi
if up && [[ $running_hash == "$hash" ]]; then
	log "already running on $ADDR"
else
	stop
	if up; then die "something else answers on $ADDR"; fi
	log "starting on $ADDR (log: $LOG_DIR/zitadel-op.log)"
	(
		exec </dev/null >>"$LOG_DIR/zitadel-op.log" 2>&1
		exec setsid "$bin" -addr "$ADDR" -issuer "$ISSUER"
	) &
	echo "$! $hash" >"$PIDFILE"
	disown || true
	for _ in $(seq 1 100); do up && break; sleep 0.2; done
	up || {
		tail -n 20 "$LOG_DIR/zitadel-op.log" >&2 || true
		die "did not answer discovery at $ISSUER"
	}
	log "ready"
fi
printf "export SOCIALAUTH_TEST_ZITADEL_ISSUER='%s'\n" "$ISSUER"
