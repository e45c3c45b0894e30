#!/usr/bin/env bash
# Builds and runs the Flink SQL example (live_events.sql on a local Flink
# mini-cluster). See README.md here.
#
# Usage: flink.sh build|jar|run [RUNNER ARGS...]|clean
#   build   compiles the runner and copies Flink's jars (Maven, pom.xml) into
#           target/; a no-op while pom.xml, src/ and the JDK are unchanged
#           since the last successful build
#   jar     build, then print the runnable jar's path
#   run     build, then run the job in this process (exec java -jar):
#           flink.sh run --bootstrap-servers ... (java -jar ... --help lists
#           the arguments; --sql defaults to live_events.sql here)
#   clean   delete the build output
#
# Environment:
#   FLINK_JAVA_OPTS  JVM flags for run (default: -Xmx1g -XX:+UseSerialGC)
#   MVN              the Maven command (default: mvn)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="${HERE}/pom.xml"
TARGET="${HERE}/target"
JAR="${TARGET}/sportsconnect-flink.jar"
STAMP="${TARGET}/.build-stamp"
CACHE_DIR="${HERE}/.cache"
MVN="${MVN:-mvn}"

# say, die, require_java, require_tool: shared with the local services.
SERVICE="flink"
# shellcheck source=deploy/local/lib.sh
source "${HERE}/../../local/lib.sh"

# stamp: what the build depends on: the pom, the sources, the JDK.
stamp() {
	(
		cd "${HERE}"
		sha256sum pom.xml
		find src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
		java -version 2>&1 | head -n 1
	) | sha256sum | cut -d' ' -f1
}

built() {
	[[ -f "${STAMP}" && -f "${JAR}" ]] && [[ "$(cat "${STAMP}")" == "$(stamp)" ]]
}

cmd_build() {
	require_java
	if built; then
		return 0
	fi
	require_tool "${MVN%% *}" maven "to build the Flink example"
	mkdir -p "${CACHE_DIR}"
	# Serialise concurrent builds (two test runs at once).
	if command -v flock >/dev/null 2>&1; then
		exec 9>"${CACHE_DIR}/build.lock"
		flock 9
		if built; then
			return 0
		fi
	fi
	say "building the runner and fetching Flink's jars with Maven into ${TARGET} ..."
	local start=${SECONDS} log="${CACHE_DIR}/build.log"
	rm -f "${STAMP}"
	# clean: a jar of a dependency the pom no longer names must not stay in
	# target/lib, where the manifest's class path would not see it anyway
	# but a reader of the folder would.
	if ! ${MVN} -B -Dstyle.color=never -f "${POM}" clean package >"${log}" 2>&1; then
		say "---- maven failed; its errors (full log: ${log}) ----"
		grep -E '^\[ERROR\]' "${log}" | head -n 40 >&2 || true
		say "---- last 40 lines of ${log} ----"
		tail -n 40 "${log}" >&2
		die "maven could not build ${POM} (full log: ${log})"
	fi
	if [[ ! -f "${JAR}" ]]; then
		die "maven finished but ${JAR} is missing (full log: ${log})"
	fi
	say "built ${JAR} ($(find "${TARGET}/lib" -name '*.jar' | wc -l) jars in target/lib) in $((SECONDS - start))s"
	stamp >"${STAMP}"
}

cmd_run() {
	cmd_build
	local opts
	read -r -a opts <<<"${FLINK_JAVA_OPTS:--Xmx1g -XX:+UseSerialGC}"
	local has_sql=0 a
	for a in "$@"; do
		[[ "${a}" == --sql || "${a}" == --sql=* ]] && has_sql=1
	done
	if ((has_sql)); then
		exec java "${opts[@]}" -jar "${JAR}" "$@"
	fi
	exec java "${opts[@]}" -jar "${JAR}" --sql "${HERE}/live_events.sql" "$@"
}

case "${1:-}" in
build) cmd_build ;;
jar)
	cmd_build
	echo "${JAR}"
	;;
run)
	shift
	cmd_run "$@"
	;;
clean) rm -rf "${TARGET}" "${CACHE_DIR}" ;;
*)
	echo "usage: $0 build|jar|run [RUNNER ARGS...]|clean" >&2
	exit 2
	;;
esac
