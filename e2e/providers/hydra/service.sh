#!/usr/bin/env bash
# e2e/providers/hydra/service.sh: build (cached) and start, on loopback, Ory
# Hydra v2.3.0 (built from the Go module proxy through this nested module's
# `tool` line) and loginapp, our login-and-consent app, for cmd/demo's
# real-provider tests. Run by .ci/services after PostgreSQL is up; Hydra keeps
# its data in the database socialauth_hydra. Idempotent: what already
# answers with the current build is left alone.
#
#   service.sh          start; prints the SOCIALAUTH_TEST_HYDRA_* exports
#   service.sh --stop   stop Hydra and loginapp
#
# Progress goes to stderr; stdout carries only the export line.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PUBLIC=http://127.0.0.1:4444
ADMIN=http://127.0.0.1:4445
LOGINAPP=http://127.0.0.1:4446
CACHE=${SOCIALAUTH_CI_CACHE:-${HOME:-/root}/.cache/socialauth-ci}
LOG_DIR=${SOCIALAUTH_CI_LOG_DIR:-/var/log/socialauth-ci}
PG_USER=socialauth
PG_PASS=socialauth
PG_DB=socialauth_hydra
DSN="postgres://$PG_USER:$PG_PASS@127.0.0.1:5432/$PG_DB?sslmode=disable"

log() { printf 'hydra: %s\n' "$*" >&2; }
die() {
	printf 'hydra: ERROR: %s\n' "$*" >&2
	exit 1
}

# ours PID NAME: the process is one of our builds of NAME (not a reused pid).
ours() { [[ -n $1 ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "/$2-[0-9a-f]\{16\} "; }

stop_one() { # stop_one NAME
	local f=$CACHE/$1.pid pid
	[[ -f $f ]] || return 0
	pid=$(cut -d' ' -f1 "$f")
	if ours "$pid" "$1"; then
		log "stopping $1 (pid $pid)"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$f"
}

if [[ ${1:-} == --stop ]]; then
	stop_one hydra-loginapp
	stop_one hydra
	exit 0
fi

mkdir -p "$CACHE"
mkdir -p "$LOG_DIR" 2>/dev/null || LOG_DIR=$CACHE
[[ -w $LOG_DIR ]] || LOG_DIR=$CACHE

# Binaries are named after a hash of their sources: rebuilt only on change.
# A cold build of Hydra takes several minutes.
# (Comments in go.mod do not count.)
hydra_hash=$(cd "$HERE" && { grep -v '^//' go.mod; cat go.sum; } | sha256sum | cut -c1-16)
app_hash=$(cd "$HERE" && { grep -v '^//' go.mod; cat loginapp/*.go; } | sha256sum | cut -c1-16)
hydra=$CACHE/hydra-$hydra_hash
app=$CACHE/hydra-loginapp-$app_hash
build() { # build OUT PKG
	local t0=$SECONDS
	log "building $2 into $1"
	(cd "$HERE" && go build -o "$1.tmp" "$2") >&2 || die "build of $2 failed"
	mv "$1.tmp" "$1"
	log "built in $((SECONDS - t0))s"
}
[[ -x $hydra ]] || build "$hydra" github.com/ory/hydra/v2
[[ -x $app ]] || build "$app" ./loginapp
find "$CACHE" -maxdepth 1 -name 'hydra-*' -type f -perm -u+x \
	! -name "hydra-$hydra_hash" ! -name "hydra-loginapp-$app_hash" -delete 2>/dev/null || true

# running NAME HASH: the pid file names a live process of that build.
running() {
	local f=$CACHE/$1.pid pid h
	[[ -f $f ]] || return 1
	read -r pid h <"$f" || return 1
	[[ $h == "$2" ]] && ours "$pid" "$1"
}
answers() { curl -fsS --max-time 5 "$1" >/dev/null 2>&1; }
wait_answers() { # wait_answers SECONDS URL
	local i
	for ((i = 0; i < $1 * 5; i++)); do
		answers "$2" && return 0
		sleep 0.2
	done
	return 1
}
start() { # start NAME HASH CMD...: detached, output to the log
	local name=$1 h=$2
	shift 2
	(
		exec </dev/null >>"$LOG_DIR/$name.log" 2>&1
		exec setsid "$@"
	) &
	echo "$! $h" >"$CACHE/$name.pid"
	disown || true
}

# ---- database: socialauth_hydra, owned by the socialauth role of .ci/services
PSQL=$(command -v psql || true)
[[ -n $PSQL ]] || PSQL=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n 1)
[[ -x $PSQL ]] || die "psql not found (PostgreSQL must be installed: run .ci/services)"
export PGPASSWORD=$PG_PASS
if [[ $("$PSQL" -X -At -h 127.0.0.1 -U "$PG_USER" -d socialauth \
	-c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") != 1 ]]; then
	log "creating database $PG_DB"
	"$PSQL" -X -q -h 127.0.0.1 -U "$PG_USER" -d socialauth \
		-c "CREATE DATABASE $PG_DB OWNER $PG_USER ENCODING 'UTF8' TEMPLATE template0" >&2 ||
		die "cannot create database $PG_DB"
fi
unset PGPASSWORD

export DSN
export SERVE_PUBLIC_HOST=127.0.0.1 SERVE_PUBLIC_PORT=4444
export SERVE_ADMIN_HOST=127.0.0.1 SERVE_ADMIN_PORT=4445
export URLS_SELF_ISSUER=$PUBLIC
export URLS_LOGIN=$LOGINAPP/login URLS_CONSENT=$LOGINAPP/consent URLS_LOGOUT=$LOGINAPP/logout
export SECRETS_SYSTEM=socialauth-ci-hydra-system-secret-0123456789
export OAUTH2_PKCE_ENFORCED=true
export LOG_LEVEL=info LOG_LEAK_SENSITIVE_VALUES=false

if running hydra "$hydra_hash" && answers "$PUBLIC/health/ready"; then
	log "Hydra already running on $PUBLIC"
else
	stop_one hydra
	answers "$PUBLIC/health/alive" && die "something else answers on $PUBLIC"
	log "migrating $PG_DB"
	"$hydra" migrate sql up -e --yes >>"$LOG_DIR/hydra.log" 2>&1 || {
		tail -n 20 "$LOG_DIR/hydra.log" >&2
		die "hydra migrate failed (log: $LOG_DIR/hydra.log)"
	}
	log "starting Hydra on $PUBLIC (admin $ADMIN, log: $LOG_DIR/hydra.log)"
	start hydra "$hydra_hash" "$hydra" serve all --dev --sqa-opt-out
	wait_answers 90 "$PUBLIC/health/ready" || {
		tail -n 30 "$LOG_DIR/hydra.log" >&2
		die "Hydra did not become ready"
	}
	# The first JWKS request generates the RSA-4096 signing key, which can
	# take a long while on a busy machine: do it now, not in a test.
	log "fetching the JWKS once (generates the signing key)"
	curl -fsS --max-time 300 "$PUBLIC/.well-known/jwks.json" >/dev/null || die "Hydra's JWKS did not answer"
fi

# loginapp answers / with a 404: any HTTP answer means it is up.
app_up() { curl -s --max-time 5 -o /dev/null "$LOGINAPP/"; }
if running hydra-loginapp "$app_hash" && app_up; then
	log "loginapp already running on $LOGINAPP"
else
	stop_one hydra-loginapp
	log "starting loginapp on $LOGINAPP"
	start hydra-loginapp "$app_hash" "$app" -addr 127.0.0.1:4446 -admin "$ADMIN" -users "$HERE/users.json"

fi

issuer=$(curl -fsS --max-time 30 "$PUBLIC/.well-known/openid-configuration" |
	sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p')
[[ -n $issuer ]] || die "no issuer in Hydra's discovery document"
printf "export SOCIALAUTH_TEST_HYDRA_ISSUER='%s' SOCIALAUTH_TEST_HYDRA_ADMIN='%s' SOCIALAUTH_TEST_HYDRA_USERS='%s'\n" \
	"$issuer" "$ADMIN" "$HERE/users.json"
