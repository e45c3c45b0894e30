#!/usr/bin/env bash
# Local Apicurio Registry (in-memory storage) serving the Confluent-compatible
# schema registry API, for `make test` / `make bench`. See README.md here.
#
# Usage: registry.sh fetch|start|stop|status|env
#
# Environment:
#   REGISTRY_PORT           HTTP port                  (default 18081)
#   REGISTRY_RUN_DIR        pid/log dir                (default .cache/run/registry)
#   REGISTRY_READY_TIMEOUT  seconds to wait on start   (default 90)
#   REGISTRY_HEAP           JVM heap flags             (default -Xmx512m)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
APICURIO_VERSION="3.0.9"
ARTIFACT="io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:zip:all"
CACHE_DIR="${HERE}/.cache"
APP_HOME="${CACHE_DIR}/apicurio-${APICURIO_VERSION}"
RUNNER_JAR="${APP_HOME}/apicurio-registry-app-${APICURIO_VERSION}-runner.jar"
MARKER="${APP_HOME}/.fetch-complete"
RUN_DIR="${REGISTRY_RUN_DIR:-${CACHE_DIR}/run/registry}"
PORT="${REGISTRY_PORT:-18081}"
HOST="127.0.0.1"
READY_TIMEOUT="${REGISTRY_READY_TIMEOUT:-90}"
PID_FILE="${RUN_DIR}/registry.pid"
LOG_FILE="${RUN_DIR}/registry.log"
URL="http://${HOST}:${PORT}/apis/ccompat/v7"

# is_ours PID: true when PID is alive and is the Apicurio registry JVM.
is_ours() {
	local pid="$1"
	[[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null &&
		tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q 'apicurio-registry-app'
}

# Helpers shared with the other service script (lib.sh).
SERVICE="registry"
# shellcheck source=deploy/local/lib.sh
source "${HERE}/lib.sh"

registry_ready() { curl -fsS -o /dev/null --max-time 2 "${URL}/subjects" 2>/dev/null; }

cmd_fetch() {
	if [[ -f "${MARKER}" ]]; then
		return 0
	fi
	require_java
	require_tool mvn maven "to download Apicurio Registry"
	require_tool unzip unzip "to unpack Apicurio Registry"
	mkdir -p "${CACHE_DIR}"
	# Serialise concurrent fetches (e.g. two `make test` at once).
	if command -v flock >/dev/null 2>&1; then
		exec 9>"${CACHE_DIR}/.registry-fetch.lock"
		flock 9
		if [[ -f "${MARKER}" ]]; then
			return 0
		fi
	fi
	say "fetching Apicurio Registry ${APICURIO_VERSION} with Maven into ${APP_HOME} ..."
	local start=${SECONDS}
	local dl="${CACHE_DIR}/.apicurio-download"
	rm -rf "${APP_HOME}" "${dl}"
	mkdir -p "${dl}"
	# dependency:copy needs no project; run it in the scratch dir anyway.
	local mvn_log="${CACHE_DIR}/registry-fetch.log"
	if ! (cd "${dl}" && mvn -B -Dstyle.color=never dependency:copy \
		-Dartifact="${ARTIFACT}" -DoutputDirectory="${dl}") >"${mvn_log}" 2>&1; then
		tail -n 40 "${mvn_log}" >&2
		rm -rf "${dl}"
		die "maven could not fetch ${ARTIFACT} (full log: ${mvn_log})"
	fi
	local zip="${dl}/apicurio-registry-app-${APICURIO_VERSION}-all.zip"
	[[ -f "${zip}" ]] || die "maven finished but ${zip} is missing"
	mkdir -p "${APP_HOME}"
	if ! unzip -q -o "${zip}" -d "${APP_HOME}"; then
		rm -rf "${APP_HOME}" "${dl}"
		die "could not unpack ${zip}"
	fi
	rm -rf "${dl}"
	[[ -f "${RUNNER_JAR}" ]] || die "unpacked archive has no ${RUNNER_JAR##*/}"
	echo "${APICURIO_VERSION}" >"${MARKER}"
	say "fetched in $((SECONDS - start))s"
}

cmd_start() {
	require_java
	require_tool curl curl "to check that the registry is up"
	cmd_fetch
	local pid
	pid="$(running_pid)"
	if [[ -n "${pid}" ]]; then
		die "already running (pid ${pid}, run dir ${RUN_DIR}); run '$0 stop' first"
	fi
	if port_open "${PORT}"; then
		die "port ${HOST}:${PORT} is already in use; stop whatever uses it or set REGISTRY_PORT"
	fi

	# In-memory storage: every start is an empty registry.
	rm -rf "${RUN_DIR}"
	mkdir -p "${RUN_DIR}/tmp"

	local heap
	read -r -a heap <<<"${REGISTRY_HEAP:--Xmx512m}"
	local launcher=()
	# Own session: a Ctrl-C aimed at the caller does not hit the registry;
	# `stop` (or with-services.sh's trap) shuts it down instead.
	if command -v setsid >/dev/null 2>&1; then
		launcher=(setsid)
	fi
	# Run from APP_HOME: the runner jar finds lib/ relative to itself, and
	# Quarkus' working files stay out of the caller's cwd.
	(
		cd "${APP_HOME}"
		exec ${launcher[@]+"${launcher[@]}"} java "${heap[@]}" \
			-Djava.io.tmpdir="${RUN_DIR}/tmp" \
			-Dquarkus.http.port="${PORT}" -Dquarkus.http.host="${HOST}" \
			-Dquarkus.log.console.color=false \
			-jar "${RUNNER_JAR}" \
			</dev/null >"${LOG_FILE}" 2>&1
	) &
	pid=$!
	echo "${pid}" >"${PID_FILE}"
	wait_ready "${pid}" registry_ready
	say "ready at ${URL} (pid ${pid}) in ${READY_SECONDS}s"
}

cmd_status() { print_status "${URL}"; }

cmd_env() {
	echo "export SCHEMA_REGISTRY_URL=${URL}"
}

case "${1:-}" in
fetch) cmd_fetch ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*)
	echo "usage: $0 fetch|start|stop|status|env" >&2
	exit 2
	;;
esac
