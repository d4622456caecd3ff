#!/usr/bin/env bash
# scripts/services.sh up|down|status — the real servers tide's tests and demos talk to.
#
# Every server listens on loopback only and keeps its data in the gitignored $REPO/.tide/:
#   Kafka 4.x (KRaft, one broker+controller node, jars from Maven Central via scripts/kafka/pom.xml)
#       TIDE_KAFKA_BROKERS     127.0.0.1:19092   (controller listener 127.0.0.1:19093)
#   ClickHouse 18.16 (Debian's clickhouse-server, config from scripts/clickhouse/)
#       TIDE_CLICKHOUSE_ADDR   127.0.0.1:19000   (native protocol; HTTP on 127.0.0.1:18123)
#   PostgreSQL (Debian's, a project-local cluster; superuser role `tide`, database `tide`)
#       TIDE_POSTGRES_URL      postgres://tide@127.0.0.1:15432/tide?sslmode=disable
#   nginx + nginx-rtmp (Debian's nginx, libnginx-mod-rtmp; also installs ffmpeg for the e2e test)
#       rtmp 127.0.0.1:19350, http 127.0.0.1:18088 (HLS, recordings); config scripts/nginx/
#       TIDE_NGINX_HOOK_URL (default http://127.0.0.1:18090/live/callback/nginx), TIDE_NGINX_PLAY_KEY
# These must match CONVENTIONS.md and ingest/testenv.
#
#   up      install what is missing (apt: clickhouse-server, postgresql; Maven: Kafka jars),
#           start whatever is not running and wait until each server answers. Idempotent;
#           stale pid files (after a reboot or a kill -9) are detected and ignored.
#   down    stop all three (clean shutdown first, then kill).
#   status  print each server's state and address.
#
# Layout: .tide/kafka/{libs,data,log}, .tide/clickhouse/{data,log}, .tide/postgres/{data,log,run}.
# PostgreSQL refuses to run as root, so under root it runs as the `postgres` OS user; when that
# user cannot reach the checkout (a parent dir is 0700), its cluster lives in /var/tmp/tide-<hash>/
# instead (recorded in .tide/postgres.location). ClickHouse 18.16 and Kafka run as the caller.
# Optional: TIDE_SERVICES_WAIT (seconds per server, default 120), TIDE_KAFKA_HEAP (JVM flags).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIDE=$REPO/.tide
SCRIPTS=$REPO/scripts
HOST=127.0.0.1

KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
CH_TCP_PORT=19000
CH_HTTP_PORT=18123
PG_PORT=15432
NGINX_RTMP_PORT=19350
NGINX_HTTP_PORT=18088
NGINX_HOOK_URL=${TIDE_NGINX_HOOK_URL:-http://127.0.0.1:18090/live/callback/nginx}
NGINX_PLAY_KEY=${TIDE_NGINX_PLAY_KEY:-tide-dev-nginx-play-key}

WAIT_SECS=${TIDE_SERVICES_WAIT:-120} # per server, once started
KAFKA_HEAP=${TIDE_KAFKA_HEAP:--Xms256m -Xmx1g}

KAFKA_DIR=$TIDE/kafka
CH_DIR=$TIDE/clickhouse
PG_DIR=$TIDE/postgres
NGINX_DIR=$TIDE/nginx

# ---------------------------------------------------------------------------------------------
# helpers

say() { printf 'services: %s\n' "$*"; }
now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

# fail NAME MESSAGE [LOGFILE...]: say what failed, print the tail of each log, exit non-zero.
fail() {
	local name=$1 msg=$2
	shift 2
	say "$name: FAILED: $msg" >&2
	local f
	for f in "$@"; do
		[[ -s $f ]] || continue
		printf -- '----- last 40 lines of %s -----\n' "$f" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
}

as_root() {
	if ((EUID == 0)); then "$@"; else sudo -n "$@"; fi
}

APT_UPDATED=0
APT_LOG=$TIDE/apt.log
apt_install() {
	mkdir -p "$TIDE"
	if ((APT_UPDATED == 0)); then
		say "apt-get update"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$APT_LOG" 2>&1 ||
			fail apt "apt-get update failed" "$APT_LOG"
		APT_UPDATED=1
	fi
	say "apt-get install $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$APT_LOG" 2>&1 ||
		fail apt "apt-get install $* failed" "$APT_LOG"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# pid_of PIDFILE PATTERN: print the pid recorded in PIDFILE when that process is alive and its
# command line contains PATTERN (so a pid reused after a reboot is not mistaken for ours).
pid_of() {
	local pid
	[[ -f $1 ]] || return 1
	pid=$(<"$1")
	pid_alive "$pid" "$2" || return 1
	printf '%s' "$pid"
}

# pid_alive PID PATTERN: PID runs a command line containing PATTERN (a zombie has none).
pid_alive() {
	[[ $1 =~ ^[0-9]+$ && -r /proc/$1/cmdline ]] || return 1
	tr '\0' ' ' </proc/"$1"/cmdline | grep -qF -- "$2"
}

# stop_pid NAME PID: SIGTERM, wait up to 60 s, then SIGKILL.
stop_pid() {
	local name=$1 pid=$2 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "$name: still running after 60s, killing pid $pid"
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.5
}

# listener_of PORT: who listens on PORT (for error messages).
listener_of() { ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' || true; }

# ---------------------------------------------------------------------------------------------
# Kafka

KAFKA_PIDFILE=$KAFKA_DIR/kafka.pid
KAFKA_LOG=$KAFKA_DIR/log/server.log
KAFKA_OUT=$KAFKA_DIR/log/stdout.log

kafka_java() {
	java -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.yaml" -Dkafka.logs.dir="$KAFKA_DIR/log" \
		-cp "$KAFKA_DIR/libs/*" "$@"
}

# kafka_api_ok: the broker answers an ApiVersions (v0) request on the PLAINTEXT listener with
# error code 0 — a real Kafka protocol round trip, in bash alone.
kafka_api_ok() {
	local out
	out=$(timeout 3 bash -c '
		exec 3<>/dev/tcp/'"$HOST/$KAFKA_PORT"' || exit 1
		printf "\x00\x00\x00\x0e\x00\x12\x00\x00\x00\x00\x07\xe9\x00\x04tide" >&3
		head -c 10 <&3 | od -An -tx1 | tr -d " \n"' 2>/dev/null) || return 1
	# size(4) correlation_id(4)=0x7e9 error_code(2)=0
	[[ ${out:8:12} == 000007e90000 ]]
}

# kafka_fetch: start copying the broker's jars from Maven (~/.m2 is the cache) in the background
# when .tide/kafka/libs is missing or older than the pom, so that it overlaps the apt installs.
# kafka_install waits for it.
KAFKA_FETCH_PID=
kafka_fetch() {
	pid_of "$KAFKA_PIDFILE" "$KAFKA_DIR/server.properties" >/dev/null && return 0
	port_open $KAFKA_PORT && return 0
	if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
		apt_install openjdk-17-jre-headless maven
	fi
	local pom=$SCRIPTS/kafka/pom.xml stamp=$KAFKA_DIR/libs/.pom.sha256 sum
	sum=$(sha256sum "$pom" | cut -d' ' -f1)
	if [[ -f $stamp && $(<"$stamp") == "$sum" ]]; then return 0; fi
	KAFKA_T0=$(now)
	say "kafka: fetching jars (mvn dependency:copy-dependencies, log .tide/kafka/mvn.log)"
	rm -rf "$KAFKA_DIR/libs" "$KAFKA_DIR/libs.tmp"
	mkdir -p "$KAFKA_DIR"
	(
		mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory="$KAFKA_DIR/libs.tmp" </dev/null >"$KAFKA_DIR/mvn.log" 2>&1 &&
			mv "$KAFKA_DIR/libs.tmp" "$KAFKA_DIR/libs" &&
			printf '%s\n' "$sum" >"$stamp"
	) 9>&- &
	KAFKA_FETCH_PID=$!
}

kafka_install() {
	[[ -n $KAFKA_FETCH_PID ]] || kafka_fetch
	if [[ -n $KAFKA_FETCH_PID ]]; then
		wait "$KAFKA_FETCH_PID" || fail kafka "mvn could not fetch the Kafka jars" "$KAFKA_DIR/mvn.log"
		KAFKA_FETCH_PID=
	fi
	local major
	major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')
	((${major%%.*} >= 17)) || fail kafka "Kafka 4 needs Java 17 or newer, found $major"
}

kafka_configure() {
	mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/log"
	sed "s#@DATA_DIR@#$KAFKA_DIR/data#g" "$SCRIPTS/kafka/server.properties" >"$KAFKA_DIR/server.properties"
	cp "$SCRIPTS/kafka/log4j2.yaml" "$KAFKA_DIR/log4j2.yaml"
	[[ -f $KAFKA_DIR/data/meta.properties ]] && return 0
	say "kafka: formatting storage (KRaft, standalone controller)"
	rm -rf "$KAFKA_DIR/data" && mkdir -p "$KAFKA_DIR/data"
	local cluster_id
	cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
	kafka_java kafka.tools.StorageTool format --standalone --cluster-id "$cluster_id" \
		--config "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/log/format.log" 2>&1 ||
		fail kafka "storage format failed" "$KAFKA_DIR/log/format.log"
}

kafka_start() {
	KAFKA_T0=${KAFKA_T0:-$(now)} KAFKA_DEADLINE=$((SECONDS + WAIT_SECS))
	if pid_of "$KAFKA_PIDFILE" "$KAFKA_DIR/server.properties" >/dev/null; then KAFKA_STARTED=0; return 0; fi
	rm -f "$KAFKA_PIDFILE"
	if port_open $KAFKA_PORT; then
		kafka_api_ok || fail kafka "port $KAFKA_PORT is taken by something that is not Kafka:
$(listener_of $KAFKA_PORT)"
		say "kafka: 127.0.0.1:$KAFKA_PORT is already served by another process (not this checkout); using it"
		KAFKA_STARTED=-1
		return 0
	fi
	if port_open $KAFKA_CONTROLLER_PORT; then
		fail kafka "controller port $KAFKA_CONTROLLER_PORT is taken:
$(listener_of $KAFKA_CONTROLLER_PORT)"
	fi
	kafka_install
	kafka_configure
	KAFKA_LOG_OFFSET=$(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0)
	# shellcheck disable=SC2086 # KAFKA_HEAP is a list of JVM flags
	(cd "$KAFKA_DIR" && exec setsid java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.yaml" -Dkafka.logs.dir="$KAFKA_DIR/log" \
		-cp "$KAFKA_DIR/libs/*" kafka.Kafka "$KAFKA_DIR/server.properties" \
		>"$KAFKA_OUT" 2>&1 </dev/null 9>&-) &
	echo $! >"$KAFKA_PIDFILE"
	KAFKA_STARTED=1
}

# kafka_started_line: this run's broker log says the server has started.
kafka_started_line() {
	local off=${KAFKA_LOG_OFFSET:-0} size
	size=$(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0)
	((size >= off)) || off=0 # rolled over
	tail -c +$((off + 1)) "$KAFKA_LOG" 2>/dev/null | grep -q 'Kafka Server started'
}

# kafka_poll: 0 once the broker is healthy (and says so), 1 while it is starting; fails when it
# died or did not come up in time. Same contract for ch_poll and pg_poll.
kafka_poll() {
	local pid
	if ((KAFKA_STARTED < 0)); then return 0; fi
	if ! kafka_api_ok || ! { ((KAFKA_STARTED == 0)) || kafka_started_line; }; then
		pid=$(pid_of "$KAFKA_PIDFILE" "$KAFKA_DIR/server.properties") ||
			fail kafka "the broker exited during start-up" "$KAFKA_OUT" "$KAFKA_LOG"
		((SECONDS < KAFKA_DEADLINE)) || fail kafka "not healthy after ${WAIT_SECS}s (pid $pid)" "$KAFKA_OUT" "$KAFKA_LOG"
		return 1
	fi
	if ((KAFKA_STARTED == 1)); then
		say "kafka: up on $HOST:$KAFKA_PORT ($(since "$KAFKA_T0"))"
	else
		say "kafka: already up on $HOST:$KAFKA_PORT"
	fi
}

kafka_stop() {
	local pid
	if pid=$(pid_of "$KAFKA_PIDFILE" "$KAFKA_DIR/server.properties"); then
		stop_pid kafka "$pid"
		say "kafka: stopped"
	else
		say "kafka: not running"
	fi
	rm -f "$KAFKA_PIDFILE"
}

kafka_status() {
	local pid
	if pid=$(pid_of "$KAFKA_PIDFILE" "$KAFKA_DIR/server.properties"); then
		if kafka_api_ok; then say "kafka: up on $HOST:$KAFKA_PORT (pid $pid)"; else say "kafka: starting or unhealthy (pid $pid), $HOST:$KAFKA_PORT"; fi
	elif kafka_api_ok; then
		say "kafka: up on $HOST:$KAFKA_PORT (another process, not this checkout)"
	else
		say "kafka: down ($HOST:$KAFKA_PORT)"
		return 1
	fi
}

# ---------------------------------------------------------------------------------------------
# ClickHouse

CH_PIDFILE=$CH_DIR/clickhouse.pid
CH_LOG=$CH_DIR/log/clickhouse-server.log
CH_ERR=$CH_DIR/log/clickhouse-server.err.log
CH_OUT=$CH_DIR/log/stdout.log
CH_SERVER=/usr/bin/clickhouse-server

ch_ok() { timeout 5 clickhouse-client --host $HOST --port $CH_TCP_PORT -q 'SELECT 1' >/dev/null 2>&1; }

ch_install() {
	CH_SERVER=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
	if [[ -x $CH_SERVER ]] && command -v clickhouse-client >/dev/null; then return 0; fi
	apt_install clickhouse-server clickhouse-client
	CH_SERVER=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
	[[ -x $CH_SERVER ]] || fail clickhouse "clickhouse-server is not installed after apt-get install"
}

ch_configure() {
	mkdir -p "$CH_DIR/data" "$CH_DIR/log"
	sed "s#@CH_DIR@#$CH_DIR#g" "$SCRIPTS/clickhouse/config.xml" >"$CH_DIR/config.xml"
	cp "$SCRIPTS/clickhouse/users.xml" "$CH_DIR/users.xml"
}

ch_start() {
	CH_T0=$(now) CH_DEADLINE=$((SECONDS + WAIT_SECS))
	if pid_of "$CH_PIDFILE" "$CH_DIR/config.xml" >/dev/null; then CH_STARTED=0; return 0; fi
	rm -f "$CH_PIDFILE"
	if port_open $CH_TCP_PORT; then
		ch_ok || fail clickhouse "port $CH_TCP_PORT is taken by something that is not ClickHouse:
$(listener_of $CH_TCP_PORT)"
		say "clickhouse: 127.0.0.1:$CH_TCP_PORT is already served by another process (not this checkout); using it"
		CH_STARTED=-1
		return 0
	fi
	ch_install
	ch_configure
	# 18.16 runs fine as root (it has no data-owner check), so it runs as the caller.
	(cd "$CH_DIR" && exec setsid "$CH_SERVER" --config-file="$CH_DIR/config.xml" \
		>"$CH_OUT" 2>&1 </dev/null 9>&-) &
	echo $! >"$CH_PIDFILE"
	CH_STARTED=1
}

ch_poll() {
	local pid
	if ((CH_STARTED < 0)); then return 0; fi
	if ! ch_ok; then
		pid=$(pid_of "$CH_PIDFILE" "$CH_DIR/config.xml") ||
			fail clickhouse "the server exited during start-up" "$CH_OUT" "$CH_ERR" "$CH_LOG"
		((SECONDS < CH_DEADLINE)) || fail clickhouse "not healthy after ${WAIT_SECS}s (pid $pid)" "$CH_OUT" "$CH_ERR" "$CH_LOG"
		return 1
	fi
	if ((CH_STARTED == 1)); then
		say "clickhouse: up on $HOST:$CH_TCP_PORT, http $HOST:$CH_HTTP_PORT ($(since "$CH_T0"))"
	else
		say "clickhouse: already up on $HOST:$CH_TCP_PORT, http $HOST:$CH_HTTP_PORT"
	fi
}

ch_stop() {
	local pid
	if pid=$(pid_of "$CH_PIDFILE" "$CH_DIR/config.xml"); then
		stop_pid clickhouse "$pid"
		say "clickhouse: stopped"
	else
		say "clickhouse: not running"
	fi
	rm -f "$CH_PIDFILE"
}

ch_status() {
	local pid
	if pid=$(pid_of "$CH_PIDFILE" "$CH_DIR/config.xml"); then
		if ch_ok; then say "clickhouse: up on $HOST:$CH_TCP_PORT, http $HOST:$CH_HTTP_PORT (pid $pid)"; else say "clickhouse: starting or unhealthy (pid $pid), $HOST:$CH_TCP_PORT"; fi
	elif ch_ok; then
		say "clickhouse: up on $HOST:$CH_TCP_PORT (another process, not this checkout)"
	else
		say "clickhouse: down ($HOST:$CH_TCP_PORT)"
		return 1
	fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

PG_BIN=
PG_USER=
PG_SOCK=
PG_ROOT=$PG_DIR # moves to /var/tmp only when the postgres user cannot reach .tide (pg_prepare)

# pg_find_bin: the server binaries of the cluster's major version, else the newest installed.
pg_find_bin() {
	local d want=
	PG_BIN=
	[[ -f $PG_ROOT/data/PG_VERSION ]] && want=$(<"$PG_ROOT/data/PG_VERSION")
	if [[ -n $want && -x /usr/lib/postgresql/$want/bin/postgres ]]; then
		PG_BIN=/usr/lib/postgresql/$want/bin
		return 0
	fi
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
		[[ -x $d/postgres && -x $d/pg_ctl && -x $d/initdb ]] && PG_BIN=$d
	done
	[[ -n $PG_BIN ]]
}

# pg_run CMD...: run a PostgreSQL server binary as the server's OS user, from a directory it can
# read, without the lock's descriptor (a server holding it would block every later services.sh).
pg_run() {
	if [[ $PG_USER == "$(id -un)" ]]; then
		(cd "$PG_ROOT" && "$@") 9>&-
	else
		(cd "$PG_ROOT" && runuser -u "$PG_USER" -- "$@") 9>&-
	fi
}

# pg_layout: who runs the server (root may not: the postgres OS user does) and where its files are.
pg_layout() {
	if ((EUID == 0)); then PG_USER=postgres; else PG_USER=$(id -un); fi
	if [[ -f $TIDE/postgres.location ]]; then PG_ROOT=$(<"$TIDE/postgres.location"); fi
}

pg_prepare() {
	if ((EUID == 0)) && ! id -u postgres >/dev/null 2>&1; then
		say "postgres: creating OS user postgres"
		useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
	fi
	if [[ ! -f $TIDE/postgres.location && $PG_USER != "$(id -un)" ]]; then
		mkdir -p "$PG_DIR" && chown "$PG_USER:" "$PG_DIR"
		if ! runuser -u "$PG_USER" -- test -w "$PG_DIR"; then
			# A parent of the checkout is closed to other users (e.g. a 0700 temp dir): keep the
			# cluster where the postgres user can reach it, and remember where.
			PG_ROOT=/var/tmp/tide-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)/postgres
			say "postgres: $PG_USER cannot reach $PG_DIR; using $PG_ROOT"
			mkdir -p "$PG_ROOT" && chown "$PG_USER:" "$PG_ROOT" "$(dirname "$PG_ROOT")"
			printf '%s\n' "$PG_ROOT" >"$TIDE/postgres.location"
		fi
	fi
	PG_SOCK=$PG_ROOT/run
	if ((${#PG_SOCK} > 90)); then # a unix socket path must stay under 108 bytes
		PG_SOCK=/tmp/tide-pg-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)
	fi
	mkdir -p "$PG_ROOT/log" "$PG_SOCK"
	[[ $PG_USER == "$(id -un)" ]] || chown "$PG_USER:" "$PG_ROOT" "$PG_ROOT/log" "$PG_SOCK"
	chmod 0700 "$PG_SOCK"
}

pg_install() {
	pg_find_bin && return 0
	apt_install postgresql
	pg_find_bin || fail postgres "no PostgreSQL server binaries under /usr/lib/postgresql after apt-get install"
}

pg_settings() {
	cat <<EOF
# written by scripts/services.sh on every start; edit the script, not this file
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 300
shared_buffers = 512MB
work_mem = 16MB
maintenance_work_mem = 128MB
synchronous_commit = off
max_wal_size = 1GB
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

pg_ok() { "$PG_BIN/pg_isready" -q -h $HOST -p $PG_PORT -U tide -d postgres -t 2 >/dev/null 2>&1; }
# pg_running: the postmaster named in postmaster.pid is alive. Unlike `pg_ctl status` this does
# not take a killed postmaster that is not yet reaped (a zombie) or a reused pid for a server.
pg_running() {
	local pid
	pid=$(head -n 1 "$PG_ROOT/data/postmaster.pid" 2>/dev/null) || return 1
	pid_alive "$pid" postgres
}

# pg_clear_stale: a postmaster.pid whose process is dead (or a zombie) would make the next
# postmaster refuse to start while that pid still exists; wait for it to go, then drop the file.
pg_clear_stale() {
	local f=$PG_ROOT/data/postmaster.pid pid i
	[[ -f $f ]] || return 0
	pid=$(head -n 1 "$f")
	for ((i = 0; i < 50; i++)); do
		[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	say "postgres: removing stale $f (pid $pid is not a running postmaster)"
	rm -f "$f"
}

# pg_start: unlike the other two this one waits (pg_ctl -w): it is quick, and the other servers
# are already starting in the background.
pg_start() {
	PG_T0=$(now) PG_DEADLINE=$((SECONDS + WAIT_SECS))
	pg_layout
	pg_install
	local data=$PG_ROOT/data
	if pg_running; then PG_STARTED=0; return 0; fi
	if port_open $PG_PORT; then
		pg_ok || fail postgres "port $PG_PORT is taken by something that is not PostgreSQL:
$(listener_of $PG_PORT)"
		say "postgres: 127.0.0.1:$PG_PORT is already served by another process (not this checkout); using it"
		PG_STARTED=-1
		return 0
	fi
	pg_prepare
	data=$PG_ROOT/data # pg_prepare may have moved it
	if [[ ! -f $data/PG_VERSION ]]; then
		say "postgres: initdb (superuser tide, trust on loopback)"
		rm -rf "$data"
		pg_run "$PG_BIN/initdb" -D "$data" --username=tide --auth=trust --encoding=UTF8 --no-locale \
			>"$PG_ROOT/log/initdb.log" 2>&1 || fail postgres "initdb failed" "$PG_ROOT/log/initdb.log"
		pg_run sh -c "echo \"include_if_exists = 'tide.conf'\" >>'$data/postgresql.conf'"
		pg_run sh -c "cat >'$data/pg_hba.conf'" <<'EOF'
# local development cluster: loopback and the socket only, no passwords
local   all          all                 trust
host    all          all  127.0.0.1/32   trust
host    all          all  ::1/128        trust
local   replication  all                 trust
host    replication  all  127.0.0.1/32   trust
EOF
	fi
	pg_settings | pg_run sh -c "cat >'$data/tide.conf'"
	pg_clear_stale
	# pg_ctl clears a stale postmaster.pid itself (after a reboot or a kill -9)
	pg_run "$PG_BIN/pg_ctl" -D "$data" -l "$PG_ROOT/log/postgres.log" -w -t "$WAIT_SECS" start >/dev/null 2>&1 ||
		fail postgres "pg_ctl start failed" "$PG_ROOT/log/postgres.log"
	PG_STARTED=1
}

pg_poll() {
	if ((PG_STARTED < 0)); then return 0; fi
	if ! pg_ok; then
		pg_running || fail postgres "the server is not running" "$PG_ROOT/log/postgres.log"
		((SECONDS < PG_DEADLINE)) || fail postgres "not ready after ${WAIT_SECS}s" "$PG_ROOT/log/postgres.log"
		return 1
	fi
	# the role exists from initdb; the database is made once
	if [[ -z $("$PG_BIN/psql" -h $HOST -p $PG_PORT -U tide -d postgres -XtAqc "SELECT 1 FROM pg_database WHERE datname = 'tide'") ]]; then
		"$PG_BIN/psql" -h $HOST -p $PG_PORT -U tide -d postgres -Xqc 'CREATE DATABASE tide' >/dev/null
	fi
	"$PG_BIN/psql" "postgres://tide@$HOST:$PG_PORT/tide?sslmode=disable" -XtAqc 'SELECT 1' >/dev/null ||
		fail postgres "SELECT 1 as tide failed" "$PG_ROOT/log/postgres.log"
	if ((PG_STARTED == 1)); then
		say "postgres: up on postgres://tide@$HOST:$PG_PORT/tide ($(since "$PG_T0"))"
	else
		say "postgres: already up on postgres://tide@$HOST:$PG_PORT/tide"
	fi
}

pg_stop() {
	pg_layout
	if ! pg_find_bin; then say "postgres: not installed"; return 0; fi
	if [[ ! -f $PG_ROOT/data/PG_VERSION ]] || ! pg_running; then
		say "postgres: not running"
		return 0
	fi
	pg_run "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
		pg_run "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	say "postgres: stopped"
}

pg_status() {
	pg_layout
	if ! pg_find_bin; then say "postgres: not installed"; return 1; fi
	if pg_running && pg_ok; then
		say "postgres: up on postgres://tide@$HOST:$PG_PORT/tide?sslmode=disable (pid $(head -n 1 "$PG_ROOT/data/postmaster.pid"), data $PG_ROOT/data)"
	elif pg_ok; then
		say "postgres: up on postgres://tide@$HOST:$PG_PORT/tide?sslmode=disable (another process, not this checkout)"
	elif pg_running; then
		say "postgres: starting or unhealthy, postgres://tide@$HOST:$PG_PORT/tide"
		return 1
	else
		say "postgres: down (postgres://tide@$HOST:$PG_PORT/tide)"
		return 1
	fi
}

# ---------------------------------------------------------------------------------------------
# nginx with nginx-rtmp (the self-hosted stream provider, live/stream/nginx), plus ffmpeg for its
# end-to-end test. Config from scripts/nginx/nginx.conf.in; hooks go to TIDE_NGINX_HOOK_URL.

NGINX_PIDFILE=$NGINX_DIR/nginx.pid
NGINX_CONF=$NGINX_DIR/nginx.conf
NGINX_ERR=$NGINX_DIR/log/error.log
NGINX_OUT=$NGINX_DIR/log/stdout.log
NGINX_BIN=/usr/sbin/nginx
NGINX_RTMP_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so

nginx_ok() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$NGINX_HTTP_PORT && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && head -n 1 <&3" 2>/dev/null | grep -q ' 200 '; }

nginx_install() {
	if [[ -x $NGINX_BIN && -f $NGINX_RTMP_MODULE ]] && command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then return 0; fi
	apt_install nginx libnginx-mod-rtmp ffmpeg
	[[ -x $NGINX_BIN && -f $NGINX_RTMP_MODULE ]] || fail nginx "nginx or $NGINX_RTMP_MODULE missing after apt-get install"
	# Debian's package may start a system nginx on :80 (systemd or its init script); tide runs
	# its own, so stop the one this install started
	if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
		as_root systemctl stop nginx || true
	elif [[ -s /run/nginx.pid ]] && pid_alive "$(</run/nginx.pid)" nginx; then
		as_root "$NGINX_BIN" -s quit 2>/dev/null || true
	fi
}

nginx_configure() {
	mkdir -p "$NGINX_DIR/log" "$NGINX_DIR/hls" "$NGINX_DIR/rec" "$NGINX_DIR/tmp"
	local user=
	((EUID != 0)) || user='user root;'
	sed -e "s#@PREFIX@#$NGINX_DIR#g" -e "s#@RTMP_MODULE@#$NGINX_RTMP_MODULE#g" -e "s#@USER@#$user#g" \
		-e "s#@RTMP_PORT@#$NGINX_RTMP_PORT#g" -e "s#@HTTP_PORT@#$NGINX_HTTP_PORT#g" \
		-e "s#@HOOK_URL@#$NGINX_HOOK_URL#g" -e "s#@PLAY_KEY@#$NGINX_PLAY_KEY#g" \
		"$SCRIPTS/nginx/nginx.conf.in" >"$NGINX_CONF"
	"$NGINX_BIN" -t -q -p "$NGINX_DIR" -c "$NGINX_CONF" >"$NGINX_OUT" 2>&1 || fail nginx "nginx -t rejected $NGINX_CONF" "$NGINX_OUT"
}

nginx_start() {
	NGINX_T0=$(now) NGINX_DEADLINE=$((SECONDS + WAIT_SECS))
	if pid_of "$NGINX_PIDFILE" "$NGINX_CONF" >/dev/null; then NGINX_STARTED=0; return 0; fi
	rm -f "$NGINX_PIDFILE"
	if port_open $NGINX_HTTP_PORT && port_open $NGINX_RTMP_PORT && nginx_ok; then
		say "nginx: $HOST:$NGINX_HTTP_PORT is already served by another nginx (not this checkout); using it"
		NGINX_STARTED=-1
		return 0
	fi
	local p
	for p in $NGINX_RTMP_PORT $NGINX_HTTP_PORT; do
		port_open "$p" && fail nginx "port $p is taken:
$(listener_of "$p")"
	done
	nginx_install
	nginx_configure
	(cd "$NGINX_DIR" && exec setsid "$NGINX_BIN" -p "$NGINX_DIR" -c "$NGINX_CONF" \
		>"$NGINX_OUT" 2>&1 </dev/null 9>&-) &
	echo $! >"$NGINX_PIDFILE" # nginx writes the same pid there itself
	NGINX_STARTED=1
}

nginx_poll() {
	if ((NGINX_STARTED < 0)); then return 0; fi
	if ! nginx_ok; then
		pid_of "$NGINX_PIDFILE" "$NGINX_CONF" >/dev/null ||
			fail nginx "nginx exited during start-up" "$NGINX_OUT" "$NGINX_ERR"
		((SECONDS < NGINX_DEADLINE)) || fail nginx "not healthy after ${WAIT_SECS}s" "$NGINX_OUT" "$NGINX_ERR"
		return 1
	fi
	if ((NGINX_STARTED == 1)); then
		say "nginx: up, rtmp $HOST:$NGINX_RTMP_PORT, http $HOST:$NGINX_HTTP_PORT, hooks $NGINX_HOOK_URL ($(since "$NGINX_T0"))"
	else
		say "nginx: already up, rtmp $HOST:$NGINX_RTMP_PORT, http $HOST:$NGINX_HTTP_PORT"
	fi
}

nginx_stop() {
	local pid
	if pid=$(pid_of "$NGINX_PIDFILE" "$NGINX_CONF"); then
		stop_pid nginx "$pid"
		say "nginx: stopped"
	else
		say "nginx: not running"
	fi
	rm -f "$NGINX_PIDFILE"
}

nginx_status() {
	local pid
	if pid=$(pid_of "$NGINX_PIDFILE" "$NGINX_CONF") && nginx_ok; then
		say "nginx: up, rtmp $HOST:$NGINX_RTMP_PORT, http $HOST:$NGINX_HTTP_PORT (pid $pid)"
	elif nginx_ok; then
		say "nginx: up on $HOST:$NGINX_HTTP_PORT (another process, not this checkout)"
	else
		say "nginx: down (rtmp $HOST:$NGINX_RTMP_PORT, http $HOST:$NGINX_HTTP_PORT)"
		return 1
	fi
}

# ---------------------------------------------------------------------------------------------

# lock: one services.sh at a time per checkout. Every server is started with fd 9 closed, or it
# would hold the lock for as long as it runs.
lock() {
	mkdir -p "$TIDE"
	exec 9>"$TIDE/services.lock"
	flock -w 900 9 || { say "another services.sh is still running (lock $TIDE/services.lock)" >&2; exit 1; }
}

cmd=${1:-}
shift || true
# which servers: all by default, or those named (kafka clickhouse postgres); `make demo` needs no
# Kafka (it embeds one), so it asks for clickhouse and postgres only
want_kafka=0 want_ch=0 want_pg=0 want_nginx=0
(($# > 0)) || set -- kafka clickhouse postgres nginx
for w in "$@"; do
	case $w in
	kafka) want_kafka=1 ;;
	clickhouse) want_ch=1 ;;
	postgres) want_pg=1 ;;
	nginx) want_nginx=1 ;;
	*)
		echo "usage: $0 up|down|status [kafka] [clickhouse] [postgres] [nginx]" >&2
		exit 2
		;;
	esac
done
case $cmd in
up)
	lock
	t0=$(now)
	# installs and start-ups overlap: the Kafka jars download while apt works, and the servers
	# start together before the health checks
	((want_kafka == 0)) || kafka_fetch
	((want_ch == 0)) || ch_start
	((want_pg == 0)) || pg_start
	((want_kafka == 0)) || kafka_start
	((want_nginx == 0)) || nginx_start
	k=$want_kafka c=$want_ch p=$want_pg n=$want_nginx
	while ((k + c + p + n > 0)); do
		((k == 0)) || ! kafka_poll || k=0
		((c == 0)) || ! ch_poll || c=0
		((p == 0)) || ! pg_poll || p=0
		((n == 0)) || ! nginx_poll || n=0
		((k + c + p + n == 0)) || sleep 0.25
	done
	say "up ($(since "$t0")): TIDE_KAFKA_BROKERS=$HOST:$KAFKA_PORT TIDE_CLICKHOUSE_ADDR=$HOST:$CH_TCP_PORT TIDE_POSTGRES_URL=postgres://tide@$HOST:$PG_PORT/tide?sslmode=disable"
	;;
down)
	lock
	((want_kafka == 0)) || kafka_stop
	((want_ch == 0)) || ch_stop
	((want_pg == 0)) || pg_stop
	((want_nginx == 0)) || nginx_stop
	;;
status)
	rc=0
	((want_kafka == 0)) || kafka_status || rc=1
	((want_ch == 0)) || ch_status || rc=1
	((want_pg == 0)) || pg_status || rc=1
	((want_nginx == 0)) || nginx_status || rc=1
	exit $rc
	;;
*)
	echo "usage: $0 up|down|status [kafka] [clickhouse] [postgres] [nginx]" >&2
	exit 2
	;;
esac
