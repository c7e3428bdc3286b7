#!/usr/bin/env bash
# bench/process.sh: the process-level benchmark of docs/performance.md
# (make bench-process). It measures the demo (cmd/demo) against the floor
# (bench/floor) as an operator would: each in its own process, the fake LMS
# (cmd/fake-lms) in another, the database server outside, and cmd/loadtest
# driving complete browser-like sign-ins (login → LMS sign-in page and form
# → complete → /me) over loopback. Per row it prints the service's CPU per
# sign-in (utime+stime from /proc/<pid>/stat, before/after), the LMS's,
# flows/s, the complete request's p50/p99, SQL statements per sign-in
# (PostgreSQL: pg_stat_statements deltas, transaction control excluded) and
# the ratios demo/floor of the same run. The floor and the demo run side by
# side and the rows are interleaved: each row is ROUNDS rounds of N/ROUNDS
# sign-ins, floor and demo in turn (alternating which goes first), so that
# both see the same state of a shared host; a row gives the mean of its
# rounds (for p50/p99: the mean of the rounds' percentiles).
#
#   eval "$(.ci/services --env)"        # PostgreSQL (pg_stat_statements) and MariaDB
#   make bench-process                  # or: N=2000 bench/process.sh
#
# Environment:
#   N           sign-ins per row (default 300)
#   ROUNDS      interleaved rounds per row (default 3)
#   USERS       distinct returning usernames (default 50)
#   DBS         databases to run, of "postgres sqlite mysql" (default: all
#               available; PostgreSQL from SOCIALAUTH_TEST_POSTGRES_DSN or
#               PG_DSN, MariaDB from SOCIALAUTH_TEST_MYSQL_DSN or MYSQL_DSN)
#   SCALE=1     also c=32, and two demo instances behind one PostgreSQL
#   MEMORY=1    also the demo's RSS after MEM_N1 and MEM_N2 sign-ins
#               (defaults 10000 and 100000; PostgreSQL)
#   PORT_BASE   first of the five loopback ports used (default 28100)
#   OUT         also write the tables to this file
#
# Every database is a new one per variant (a fresh schema), dropped at the
# end. The services log at warn (no access log). Needs jq, curl, and psql /
# mysql for the PostgreSQL / MariaDB databases.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-300}
ROUNDS=${ROUNDS:-3}
USERS=${USERS:-50}
SCALE=${SCALE:-0}
MEMORY=${MEMORY:-0}
MEM_N1=${MEM_N1:-10000}
MEM_N2=${MEM_N2:-100000}
PORT_BASE=${PORT_BASE:-28100}
PG_DSN=${PG_DSN:-${SOCIALAUTH_TEST_POSTGRES_DSN:-}}
MYSQL_DSN=${MYSQL_DSN:-${SOCIALAUTH_TEST_MYSQL_DSN:-}}
OUT=${OUT:-}
LMS_PORT=$PORT_BASE FLOOR_PORT=$((PORT_BASE + 1)) DEMO_PORT=$((PORT_BASE + 2)) DEMO2_PORT=$((PORT_BASE + 3))
LMS_URL=http://127.0.0.1:$LMS_PORT
CLIENT_ID=bench-client
CLIENT_SECRET=bench-secret-$RANDOM$RANDOM
AUDIENCE=lms-key

die() { echo "process.sh: $*" >&2; exit 1; }
for c in jq curl go; do command -v "$c" >/dev/null || die "needs $c"; done
if [[ -z ${DBS:-} ]]; then
	DBS=""
	[[ -n $PG_DSN ]] && DBS+="postgres "
	DBS+="sqlite "
	[[ -n $MYSQL_DSN ]] && DBS+="mysql"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/socialauth-bench.XXXXXX")
BIN=$WORK/bin
PIDS=()        # processes started here, stopped at exit
CREATED_PG=()  # databases created here, dropped at exit
CREATED_MY=()
cleanup() {
	local p db
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	for db in "${CREATED_PG[@]}"; do pg_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
	for db in "${CREATED_MY[@]}"; do my_admin "DROP DATABASE IF EXISTS \`$db\`" || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building (go build) into $BIN" >&2
go build -o "$BIN/" ./cmd/loadtest ./cmd/fake-lms ./cmd/demo ./bench/floor

# --- databases -------------------------------------------------------------
pg_admin() { psql "$PG_DSN" -X -q -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
pg_url() { # the PostgreSQL DSN with database $1
	local base=${PG_DSN%%\?*} query=""
	[[ $PG_DSN == *\?* ]] && query="?${PG_DSN#*\?}"
	echo "${base%/*}/$1$query"
}
# MYSQL_DSN is a go-sql-driver DSN: user:pass@tcp(host:port)/db?params
my_parts() {
	[[ $MYSQL_DSN =~ ^([^:@]*):?([^@]*)@tcp\(([^:\)]*):?([0-9]*)\)/([^?]*) ]] ||
		die "MYSQL_DSN is not user:pass@tcp(host:port)/db"
	MY_USER=${BASH_REMATCH[1]} MY_PASS=${BASH_REMATCH[2]} MY_HOST=${BASH_REMATCH[3]} MY_PORT=${BASH_REMATCH[4]:-3306}
}
my_admin() {
	MYSQL_PWD=$MY_PASS mysql --protocol=tcp -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" -e "$1"
}

# fresh_db KIND VARIANT: sets DB_URL to the DATABASE_URL of a new, empty
# database (not in a subshell: the cleanup must know what was created).
fresh_db() {
	local name="socialauth_bench_${2}_$$_$RANDOM"
	case $1 in
	postgres)
		# template1 carries pg_stat_statements (.ci/services creates it there)
		pg_admin "CREATE DATABASE $name TEMPLATE template1"
		CREATED_PG+=("$name")
		DB_URL=$(pg_url "$name")
		;;
	mysql)
		my_admin "CREATE DATABASE \`$name\` CHARACTER SET utf8mb4"
		CREATED_MY+=("$name")
		DB_URL="mysql://$MY_USER:$MY_PASS@$MY_HOST:$MY_PORT/$name"
		;;
	sqlite) DB_URL="sqlite:$WORK/$name.db" ;;
	esac
}
[[ " $DBS " == *" mysql "* ]] && my_parts

# --- processes -------------------------------------------------------------
wait_healthy() { # wait_healthy URL PID NAME
	local i
	for i in $(seq 1 100); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || die "$3 exited (log: $WORK/$3.log): $(tail -5 "$WORK/$3.log")"
		sleep 0.1
	done
	die "$3 did not answer at $1"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

start_lms() {
	"$BIN/fake-lms" -addr "127.0.0.1:$LMS_PORT" -client-id "$CLIENT_ID" -client-secret "$CLIENT_SECRET" \
		-audience "$AUDIENCE" -log-level warn \
		-redirect-uri "http://127.0.0.1:$FLOOR_PORT/complete/edx-oauth2/,http://127.0.0.1:$DEMO_PORT/complete/edx-oauth2/,http://127.0.0.1:$DEMO2_PORT/complete/edx-oauth2/" \
		>"$WORK/lms.log" 2>&1 &
	LMS_PID=$!
	PIDS+=("$LMS_PID")
	wait_healthy "$LMS_URL/oauth2/jwks.json" "$LMS_PID" lms
}

# start_service VARIANT PORT DATABASE_URL: sets SVC_PID.
start_service() {
	local log=$WORK/$1-$2.log
	case $1 in
	floor)
		"$BIN/floor" -addr "127.0.0.1:$2" -lms-url "$LMS_URL" -client-id "$CLIENT_ID" \
			-client-secret "$CLIENT_SECRET" -audience "$AUDIENCE" -database-url "$3" -log-level warn \
			>"$log" 2>&1 &
		;;
	demo)
		DATABASE_URL=$3 SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT=$LMS_URL SOCIAL_AUTH_EDX_OAUTH2_KEY=$CLIENT_ID \
			SOCIAL_AUTH_EDX_OAUTH2_SECRET=$CLIENT_SECRET SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE=$AUDIENCE \
			"$BIN/demo" -addr "127.0.0.1:$2" -log-level warn >"$log" 2>&1 &
		;;
	esac
	SVC_PID=$!
	PIDS+=("$SVC_PID")
	wait_healthy "http://127.0.0.1:$2/healthz" "$SVC_PID" "$1-$2"
}

# load NAME ARGS...: runs cmd/loadtest -json and keeps its output as NAME.
load() {
	local name=$1
	shift
	"$BIN/loadtest" -json -duration 2h -lms-pid "$LMS_PID" "$@" >"$WORK/r-$name.json" ||
		die "loadtest $name failed: $(cat "$WORK/r-$name.json")"
	local failed
	failed=$(jq .Failed "$WORK/r-$name.json")
	[[ $failed == 0 ]] || die "loadtest $name: $failed flows failed: $(jq -c .FirstErrors "$WORK/r-$name.json")"
}

# --- one database ------------------------------------------------------------
ROWS=()
row() { # row DB VARIANT KIND C NAME: one table row from r-NAME.json
	ROWS+=("$(jq -r --arg db "$1" --arg v "$2" --arg k "$3" --arg c "$4" '
		def f(x; d): if x == null then "–" else (x * pow(10; d) | round / pow(10; d) | tostring) end;
		(if .MeOnly then .Flow else .Complete end) as $l |
		"| \($db) | \($v) | \($k) | \($c) | \(f(.ServiceCPUms; 2)) | \(f(.LMSCPUms; 2)) | \(f(.FlowsPerSecond; 0)) | \(f($l.P50 / 1e6; 1)) | \(f($l.P99 / 1e6; 1)) | \(f(.SQLStatements; 2)) |"
	' "$WORK/r-$5.json")")
}
RATIOS=()
ratio() { # ratio DB KIND C: demo/floor of CPU, flows/s, p50, p99, statements
	RATIOS+=("$(jq -rs --arg db "$1" --arg k "$2" --arg c "$3" '
		def r(a; b): if a == null or b == null or b == 0 then "–" else (a / b * 100 | round / 100 | tostring) + "×" end;
		.[0] as $d | .[1] as $f |
		(if $d.MeOnly then [$d.Flow, $f.Flow] else [$d.Complete, $f.Complete] end) as [$dl, $fl] |
		"| \($db) | \($k) | \($c) | \(r($d.ServiceCPUms; $f.ServiceCPUms)) | \(r($d.ServiceCPUms + $d.LMSCPUms; $f.ServiceCPUms + $f.LMSCPUms)) | \(r($d.FlowsPerSecond; $f.FlowsPerSecond)) | \(r($dl.P50; $fl.P50)) | \(r($dl.P99; $fl.P99)) | \(r($d.SQLStatements; $f.SQLStatements)) |"
	' "$WORK/r-$1-demo-$2-$3.json" "$WORK/r-$1-floor-$2-$3.json" | sed 's/| me |/| \/me only |/')")
}

# combine NAME ROUND_NAMES...: the mean of the rounds' results as NAME.
combine() {
	local name=$1
	shift
	local files=()
	for r in "$@"; do files+=("$WORK/r-$r.json"); done
	jq -s '
		def mean(f): (map(f) | if any(. == null) then null else add / length end);
		{OK: (map(.OK) | add), Failed: (map(.Failed) | add), Concurrency: .[0].Concurrency, HostCPUs: .[0].HostCPUs,
		 FlowsPerSecond: mean(.FlowsPerSecond), ServiceCPUms: mean(.ServiceCPUms), LMSCPUms: mean(.LMSCPUms),
		 SQLStatements: mean(.SQLStatements), LoadgenCPUms: mean(.LoadgenCPUms), HostBusyCPUs: mean(.HostBusyCPUs),
		 Complete: {P50: mean(.Complete.P50), P99: mean(.Complete.P99)}, Flow: {P50: mean(.Flow.P50), P99: mean(.Flow.P99)},
		 MeOnly: .[0].MeOnly, ServiceRSSKiB: .[-1].ServiceRSSKiB}
	' "${files[@]}" >"$WORK/r-$name.json"
}

run_db() {
	local db=$1 variant kind c round order args rounds
	declare -A url pid port=([floor]=$FLOOR_PORT [demo]=$DEMO_PORT)
	echo "== $db: floor and demo, $ROUNDS interleaved rounds of $((N / ROUNDS)) per row" >&2
	for variant in floor demo; do
		fresh_db "$db" "$variant"
		url[$variant]=$DB_URL
		start_service "$variant" "${port[$variant]}" "${url[$variant]}"
		pid[$variant]=$SVC_PID
		# Warm-up: creates the returning users, fills the connection pools
		# and the JWKS cache. Not reported.
		load "$db-$variant-warmup" -url "http://127.0.0.1:${port[$variant]}" -pid "$SVC_PID" -users "$USERS" -n "$((USERS * 2))" -c 4
	done
	args() { # args VARIANT: the loadtest flags of that service
		local a=(-url "http://127.0.0.1:${port[$1]}" -pid "${pid[$1]}" -users "$USERS")
		[[ $db == postgres ]] && a+=(-pg-dsn "${url[$1]}")
		echo "${a[@]}"
	}
	for kind in returning first /me; do
		for c in 1 8; do
			[[ $kind == /me && $c == 8 ]] && continue
			local extra=()
			[[ $kind == first ]] && extra=(-first)
			[[ $kind == /me ]] && extra=(-me-only)
			local tag=${kind#/}-$c
			declare -A rounds=([floor]="" [demo]="")
			for round in $(seq 1 "$ROUNDS"); do
				order="floor demo"
				((round % 2 == 0)) && order="demo floor"
				for variant in $order; do
					# shellcheck disable=SC2046 # args are words without spaces
					load "$db-$variant-$tag-r$round" $(args "$variant") "${extra[@]}" -n "$((N / ROUNDS))" -c "$c"
					rounds[$variant]+=" $db-$variant-$tag-r$round"
				done
			done
			for variant in floor demo; do
				# shellcheck disable=SC2086 # a list of names
				combine "$db-$variant-$tag" ${rounds[$variant]}
			done
		done
	done
	stop "${pid[floor]}"
	stop "${pid[demo]}"
	for variant in floor demo; do
		for kind in returning first; do
			for c in 1 8; do row "$db" "$variant" "$kind" "$c" "$db-$variant-$kind-$c"; done
		done
		row "$db" "$variant" "/me only" 1 "$db-$variant-me-1"
	done
	for kind in returning first; do
		for c in 1 8; do ratio "$db" "$kind" "$c"; done
	done
	ratio "$db" me 1
}

# --- scale: c=32, one and two demo instances on one PostgreSQL ---------------
SCALE_ROWS=()
scale_row() { # scale_row LABEL NAME
	SCALE_ROWS+=("$(jq -r --arg l "$1" '
		def f(x; d): if x == null then "–" else (x * pow(10; d) | round / pow(10; d) | tostring) end;
		"| \($l) | \(.Concurrency) | \(f(.FlowsPerSecond; 0)) | \(f(.Complete.P50 / 1e6; 1)) | \(f(.Complete.P99 / 1e6; 1)) | \(f(.ServiceCPUms; 2)) | \(f(.LMSCPUms; 2)) | \(f(.LoadgenCPUms; 2)) | \(f(.HostBusyCPUs; 2)) of \(.HostCPUs) |"
	' "$WORK/r-$2.json")")
}
run_scale() {
	local url url2 pid1 pid2
	echo "== scale: floor, demo, two demos at c=32 (PostgreSQL)" >&2
	fresh_db postgres scalefloor
	url=$DB_URL
	start_service floor "$FLOOR_PORT" "$url"
	load scale-floor-warmup -url "http://127.0.0.1:$FLOOR_PORT" -pid "$SVC_PID" -users "$USERS" -n "$((USERS * 2))" -c 4
	for c in 8 32; do
		load "scale-floor-$c" -url "http://127.0.0.1:$FLOOR_PORT" -pid "$SVC_PID" -users "$USERS" -n "$N" -c "$c"
		scale_row "floor, 1 instance" "scale-floor-$c"
	done
	stop "$SVC_PID"
	fresh_db postgres scaledemo
	url=$DB_URL
	start_service demo "$DEMO_PORT" "$url"
	pid1=$SVC_PID
	load scale-demo-warmup -url "http://127.0.0.1:$DEMO_PORT" -pid "$pid1" -users "$USERS" -n "$((USERS * 2))" -c 4
	for c in 8 32; do
		load "scale-demo1-$c" -url "http://127.0.0.1:$DEMO_PORT" -pid "$pid1" -users "$USERS" -pg-dsn "$url" -n "$N" -c "$c"
		scale_row "demo, 1 instance" "scale-demo1-$c"
	done
	start_service demo "$DEMO2_PORT" "$url"
	pid2=$SVC_PID
	url2="http://127.0.0.1:$DEMO_PORT,http://127.0.0.1:$DEMO2_PORT"
	for c in 8 32; do
		load "scale-demo2-$c" -url "$url2" -pid "$pid1,$pid2" -users "$USERS" -pg-dsn "$url" -n "$N" -c "$c"
		scale_row "demo, 2 instances" "scale-demo2-$c"
	done
	stop "$pid2"
	stop "$pid1"
}

# --- memory: the demo's RSS after MEM_N1 and MEM_N2 sign-ins ------------------
MEM_LINES=()
run_memory() {
	local url pid rss1 rss2 took
	echo "== memory: demo RSS after $MEM_N1 and $MEM_N2 sign-ins (PostgreSQL, c=8)" >&2
	fresh_db postgres memory
	url=$DB_URL
	start_service demo "$DEMO_PORT" "$url"
	pid=$SVC_PID
	load mem1 -url "http://127.0.0.1:$DEMO_PORT" -pid "$pid" -users 1000 -n "$MEM_N1" -c 8
	rss1=$(jq '.ServiceRSSKiB[0]' "$WORK/r-mem1.json")
	SECONDS=0
	load mem2 -url "http://127.0.0.1:$DEMO_PORT" -pid "$pid" -users 1000 -n "$((MEM_N2 - MEM_N1))" -c 8
	took=$SECONDS
	rss2=$(jq '.ServiceRSSKiB[0]' "$WORK/r-mem2.json")
	MEM_LINES+=("demo RSS after $MEM_N1 sign-ins: $rss1 KiB; after $MEM_N2: $rss2 KiB ($(jq -n "$rss2 / $rss1 * 100 | round / 100")×; the last $((MEM_N2 - MEM_N1)) took ${took}s)")
	stop "$pid"
}

# --- main ----------------------------------------------------------------------
start_lms
for db in $DBS; do
	case $db in
	postgres) [[ -n $PG_DSN ]] || die "postgres: set SOCIALAUTH_TEST_POSTGRES_DSN or PG_DSN" ;;
	mysql) [[ -n $MYSQL_DSN ]] || die "mysql: set SOCIALAUTH_TEST_MYSQL_DSN or MYSQL_DSN" ;;
	sqlite) ;;
	*) die "unknown database $db (postgres, sqlite, mysql)" ;;
	esac
	run_db "$db"
done
if [[ $SCALE == 1 ]]; then
	[[ -n $PG_DSN ]] || die "SCALE=1 needs PostgreSQL"
	run_scale
fi
if [[ $MEMORY == 1 ]]; then
	[[ -n $PG_DSN ]] || die "MEMORY=1 needs PostgreSQL"
	run_memory
fi

{
	echo
	echo "## Process-level sign-ins: N=$N per row, $(nproc) CPUs ($(uname -m)), $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
	echo
	echo "(/me only rows: per GET /me of a signed-in browser; latency of that request)"
	echo
	echo "| db | variant | kind | c | service CPU ms/sign-in | LMS CPU ms/sign-in | flows/s | complete p50 ms | complete p99 ms | SQL statements/sign-in |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "Demo/floor, same run (targets on PostgreSQL: service CPU ≤ 1.3× returning, ≤ 1.5× first;"
	echo "statements ≤ 5 returning, ≤ 7 first; /me ≤ 1):"
	echo
	echo "| db | kind | c | service CPU | service+LMS CPU | flows/s | complete p50 | complete p99 | SQL statements |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${RATIOS[@]}"
	if ((${#SCALE_ROWS[@]})); then
		echo
		echo "Scale (PostgreSQL, returning users; CPU per sign-in, all instances together):"
		echo
		echo "| service | c | flows/s | complete p50 ms | complete p99 ms | service CPU ms | LMS CPU ms | loadtest CPU ms | busy CPUs |"
		echo "|---|---|---|---|---|---|---|---|---|"
		printf '%s\n' "${SCALE_ROWS[@]}"
	fi
	if ((${#MEM_LINES[@]})); then
		echo
		printf '%s\n' "${MEM_LINES[@]}"
	fi
} | if [[ -n $OUT ]]; then tee "$OUT"; else cat; fi
