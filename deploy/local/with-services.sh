#!/usr/bin/env bash
# with-services.sh CMD [ARGS...]
#
# Runs CMD with a real Kafka broker and a Confluent-compatible schema registry
# (Apicurio) and exports, for CMD:
#   KAFKA_BOOTSTRAP        host:port of the broker
#   SCHEMA_REGISTRY_URL    registry base URL (.../apis/ccompat/v7)
#   KAFKA_TOOLS_CLASSPATH  classpath of Kafka's own command-line tools
#   KAFKA_PID              the broker's process id, when started here (make
#                          bench reports its CPU)
#
# A service whose variable is already set is used as is; the others are
# started here (in parallel, each on a fresh, empty instance) and stopped
# again when CMD ends, fails or is interrupted. Exits with CMD's exit code.
# `make test` and `make bench` run through this script. See README.md here.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_SH="${HERE}/kafka.sh"
REGISTRY_SH="${HERE}/registry.sh"

log() { echo "with-services: $*" >&2; }

# stop_started RUN_BASE: stop whatever this wrapper started under RUN_BASE.
# Safe to call twice and when nothing was started (the stop commands are
# no-ops on a missing run dir).
stop_started() {
	local base="$1" pids=() p
	if [[ -d "${base}/kafka" ]]; then
		KAFKA_RUN_DIR="${base}/kafka" bash "${KAFKA_SH}" stop >/dev/null 2>&1 &
		pids+=($!)
	fi
	if [[ -d "${base}/registry" ]]; then
		REGISTRY_RUN_DIR="${base}/registry" bash "${REGISTRY_SH}" stop >/dev/null 2>&1 &
		pids+=($!)
	fi
	for p in ${pids[@]+"${pids[@]}"}; do
		wait "${p}" || true
	done
	rm -rf "${base}"
}

# Hidden mode: a detached watchdog that stops the services if the wrapper is
# killed without a chance to run its trap (e.g. SIGKILL).
if [[ "${1:-}" == "__watchdog" ]]; then
	parent="$2" base="$3"
	while kill -0 "${parent}" 2>/dev/null; do
		sleep 1
	done
	stop_started "${base}"
	exit 0
fi

if (($# == 0)); then
	echo "usage: $0 CMD [ARGS...]   e.g. $0 go test ./..." >&2
	exit 2
fi

RUN_BASE="${HERE}/.cache/run/with-services-$$"
children=()

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	# Interrupted while still fetching or starting: end those first (a
	# starter takes its half-started JVM down with it).
	local p
	if ((${#children[@]})); then
		log "interrupted while fetching/starting services; stopping them ..."
	fi
	for p in ${children[@]+"${children[@]}"}; do
		kill -TERM "${p}" 2>/dev/null || true
	done
	for p in ${children[@]+"${children[@]}"}; do
		wait "${p}" 2>/dev/null || true
	done
	if [[ -d "${RUN_BASE}/kafka" || -d "${RUN_BASE}/registry" ]]; then
		log "stopping services ..."
		stop_started "${RUN_BASE}"
		log "services stopped"
	fi
	rm -rf "${RUN_BASE}"
	exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# port_open PORT: true when something accepts connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

mkdir -p "${RUN_BASE}"
launcher=()
if command -v setsid >/dev/null 2>&1; then
	launcher=(setsid)
fi
# Detached (own session), so a kill aimed at our process group spares it.
${launcher[@]+"${launcher[@]}"} bash "${BASH_SOURCE[0]}" __watchdog "$$" "${RUN_BASE}" \
	</dev/null >/dev/null 2>&1 &

start_kafka=0
[[ -n "${KAFKA_BOOTSTRAP:-}" ]] || start_kafka=1
start_registry=0
[[ -n "${SCHEMA_REGISTRY_URL:-}" ]] || start_registry=1

# run_parallel SUBCOMMAND SERVICE... : run `SERVICE.sh SUBCOMMAND` for each
# service in the background and wait for all, reporting each as it ends.
# With QUIET=1 a command's output is kept in a file and shown only when it
# fails.
run_parallel() {
	local sub="$1" pids=() names=() outs=() i t0=${SECONDS} failed=0
	shift
	local name out
	for name in "$@"; do
		out=""
		if [[ "${QUIET:-0}" == 1 ]]; then
			out="${RUN_BASE}/${name}-${sub}.out"
			bash "${HERE}/${name}.sh" "${sub}" >"${out}" 2>&1 &
		else
			bash "${HERE}/${name}.sh" "${sub}" &
		fi
		pids+=($!)
		children+=($!)
		names+=("${name}")
		outs+=("${out}")
	done
	local left=${#pids[@]} rc
	while ((left > 0)); do
		for i in "${!pids[@]}"; do
			[[ -n "${pids[i]}" ]] || continue
			kill -0 "${pids[i]}" 2>/dev/null && continue
			rc=0
			wait "${pids[i]}" || rc=$?
			if ((rc == 0)); then
				[[ -z "${READY_MSG:-}" ]] || log "${names[i]} ${READY_MSG} in $((SECONDS - t0))s"
			else
				failed=1
				log "${names[i]} failed (exit ${rc})"
				if [[ -n "${outs[i]}" && -s "${outs[i]}" ]]; then
					sed 's/^/    /' "${outs[i]}" >&2
				fi
			fi
			pids[i]=""
			left=$((left - 1))
		done
		((left == 0)) || sleep 0.2
	done
	children=()
	return "${failed}"
}

# 1. Download what is missing (cached after the first run). Kafka's tools
# are wanted even against an external cluster: tests run its console
# consumer.
fetches=()
if ((start_kafka)) || [[ -z "${KAFKA_TOOLS_CLASSPATH:-}" ]]; then
	fetches+=(kafka)
fi
if ((start_registry)); then
	fetches+=(registry)
fi
if ((${#fetches[@]})); then
	if ! READY_MSG="" QUIET=0 run_parallel fetch "${fetches[@]}"; then
		log "could not fetch the services; not running: $*"
		exit 1
	fi
fi

# 2. Start what is not given, in parallel, each on free ports.
starts=()
if ((start_kafka)); then
	if [[ -z "${KAFKA_PORT:-}" && -z "${KAFKA_CONTROLLER_PORT:-}" ]]; then
		# Default ports taken (another run, a manual kafka.sh start)? Move up.
		KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093
		for ((i = 0; i < 20; i++)); do
			if ! port_open "${KAFKA_PORT}" && ! port_open "${KAFKA_CONTROLLER_PORT}"; then
				break
			fi
			KAFKA_PORT=$((KAFKA_PORT + 100)) KAFKA_CONTROLLER_PORT=$((KAFKA_CONTROLLER_PORT + 100))
		done
	fi
	export KAFKA_PORT="${KAFKA_PORT:-19092}" KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
	export KAFKA_RUN_DIR="${RUN_BASE}/kafka"
	log "starting kafka on 127.0.0.1:${KAFKA_PORT} ..."
	starts+=(kafka)
else
	log "using kafka at ${KAFKA_BOOTSTRAP} (from KAFKA_BOOTSTRAP)"
fi
if ((start_registry)); then
	if [[ -z "${REGISTRY_PORT:-}" ]]; then
		REGISTRY_PORT=18081
		for ((i = 0; i < 20; i++)); do
			port_open "${REGISTRY_PORT}" || break
			REGISTRY_PORT=$((REGISTRY_PORT + 100))
		done
	fi
	export REGISTRY_PORT
	export REGISTRY_RUN_DIR="${RUN_BASE}/registry"
	log "starting schema registry on 127.0.0.1:${REGISTRY_PORT} ..."
	starts+=(registry)
else
	log "using schema registry at ${SCHEMA_REGISTRY_URL} (from SCHEMA_REGISTRY_URL)"
fi
if ((${#starts[@]})); then
	if ! READY_MSG="ready" QUIET=1 run_parallel start "${starts[@]}"; then
		log "could not start the services; not running: $*"
		exit 1
	fi
fi

# env_value SCRIPT NAME: the value that SCRIPT's `env` subcommand gives NAME.
env_value() {
	bash "$1" env | sed -n -E "s/^export $2='?([^']*)'?\$/\\1/p"
}
if ((start_kafka)); then
	KAFKA_BOOTSTRAP="$(env_value "${KAFKA_SH}" KAFKA_BOOTSTRAP)"
	KAFKA_PID="$(env_value "${KAFKA_SH}" KAFKA_PID)"
	export KAFKA_PID
fi
if [[ -z "${KAFKA_TOOLS_CLASSPATH:-}" ]]; then
	KAFKA_TOOLS_CLASSPATH="$(env_value "${KAFKA_SH}" KAFKA_TOOLS_CLASSPATH)"
fi
if ((start_registry)); then
	SCHEMA_REGISTRY_URL="$(env_value "${REGISTRY_SH}" SCHEMA_REGISTRY_URL)"
fi
export KAFKA_BOOTSTRAP SCHEMA_REGISTRY_URL KAFKA_TOOLS_CLASSPATH

log "running: $* (KAFKA_BOOTSTRAP=${KAFKA_BOOTSTRAP} SCHEMA_REGISTRY_URL=${SCHEMA_REGISTRY_URL})"
set +e
"$@"
rc=$?
set -e
log "command exited with status ${rc}"
exit "${rc}"
