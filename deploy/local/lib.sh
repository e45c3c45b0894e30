# Shared by kafka.sh and registry.sh; sourced, not run. Before sourcing, a
# script sets SERVICE (its name in messages), HOST, RUN_DIR, PID_FILE,
# LOG_FILE and READY_TIMEOUT, and defines is_ours PID (true when PID is
# alive and is that service's JVM).
# shellcheck shell=bash

say() { echo "${SERVICE}.sh: $*" >&2; }
die() {
	say "$*"
	exit 1
}

require_java() {
	if ! command -v java >/dev/null 2>&1; then
		say "java not found: a JDK >= 17 is required."
		say "install it with e.g.: apt-get install openjdk-17-jdk-headless maven"
		exit 2
	fi
	local line major
	line="$(java -version 2>&1 | head -n 1)"
	major="$(sed -E 's/.*version "([0-9]+).*/\1/' <<<"${line}")"
	if ! [[ "${major}" =~ ^[0-9]+$ ]] || ((major < 17)); then
		say "java >= 17 is required, found: ${line}"
		say "install it with e.g.: apt-get install openjdk-17-jdk-headless"
		exit 2
	fi
}

# require_tool TOOL PACKAGE WHY: exit 2 with an install hint if TOOL is missing.
require_tool() {
	local tool="$1" pkg="$2" why="$3"
	if ! command -v "${tool}" >/dev/null 2>&1; then
		say "${tool} not found: it is used ${why}."
		say "install it with e.g.: apt-get install ${pkg}"
		exit 2
	fi
}

# port_open PORT: true when something accepts TCP connections on HOST:PORT.
port_open() {
	(exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null
}

# running_pid: the service's pid if it runs.
running_pid() {
	local pid=""
	[[ -f "${PID_FILE}" ]] && pid="$(cat "${PID_FILE}" 2>/dev/null || true)"
	if is_ours "${pid}"; then
		echo "${pid}"
	fi
}

tail_log() {
	if [[ -s "${LOG_FILE}" ]]; then
		say "---- last 50 lines of ${LOG_FILE} ----"
		tail -n 50 "${LOG_FILE}" >&2
	fi
}

# wait_ready PID CHECK: wait until the command CHECK succeeds, failing with
# the log's tail if PID dies or READY_TIMEOUT passes. Killed meanwhile (e.g.
# with-services.sh interrupted), it takes the half-started JVM down too.
wait_ready() {
	local pid="$1" check="$2"
	# shellcheck disable=SC2064 # expand pid now
	trap "kill -KILL ${pid} 2>/dev/null; rm -rf '${RUN_DIR}'; exit 143" TERM HUP INT
	local start=${SECONDS}
	while :; do
		if ! kill -0 "${pid}" 2>/dev/null; then
			tail_log
			rm -f "${PID_FILE}"
			die "${SERVICE} exited during startup (see ${RUN_DIR})"
		fi
		if "${check}"; then
			break
		fi
		if ((SECONDS - start >= READY_TIMEOUT)); then
			tail_log
			kill -KILL "${pid}" 2>/dev/null || true
			rm -f "${PID_FILE}"
			die "${SERVICE} not ready after ${READY_TIMEOUT}s (see ${RUN_DIR})"
		fi
		sleep 0.5
	done
	trap - TERM HUP INT
	# shellcheck disable=SC2034 # read by the caller
	READY_SECONDS=$((SECONDS - start))
}

cmd_stop() {
	local pid=""
	[[ -f "${PID_FILE}" ]] && pid="$(cat "${PID_FILE}" 2>/dev/null || true)"
	if is_ours "${pid}"; then
		kill -TERM "${pid}" 2>/dev/null || true
		local i
		for ((i = 0; i < 40; i++)); do
			is_ours "${pid}" || break
			sleep 0.5
		done
		if is_ours "${pid}"; then
			say "pid ${pid} still alive after 20s, sending KILL"
			kill -KILL "${pid}" 2>/dev/null || true
			sleep 0.5
		fi
		say "stopped (pid ${pid})"
	fi
	rm -rf "${RUN_DIR}"
}

# print_status WHERE: say whether the service runs (exit status 1 if not).
print_status() {
	local pid
	pid="$(running_pid)"
	if [[ -n "${pid}" ]]; then
		echo "${SERVICE} running: pid ${pid}, $1, run dir ${RUN_DIR}"
	else
		echo "${SERVICE} not running (run dir ${RUN_DIR})"
		return 1
	fi
}
