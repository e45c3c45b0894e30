#!/usr/bin/env bash
# baseline.sh REF: builds sportsconnect as of git commit REF into
# deploy/local/.cache/baseline-<commit>/sportsconnect (once; later calls
# reuse it) and prints the binary's path. `make bench` runs it so the
# unpaced IMG run measures this build beside an older one in the same run
# (issue #14: "build today's main into a second binary and run both").
# Without git, or with a REF this clone lacks (a shallow clone), it says so
# on stderr and exits 3: the bench then runs without the baseline.
set -euo pipefail
SERVICE=baseline
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
# shellcheck source=lib.sh
source "${here}/lib.sh"

ref="${1:?usage: baseline.sh REF}"
command -v git >/dev/null 2>&1 || { say "git not found: no baseline build"; exit 3; }
commit="$(git -C "${root}" rev-parse --verify --quiet "${ref}^{commit}")" || {
	say "this clone has no commit ${ref}: no baseline build (a shallow clone? git fetch --unshallow)"
	exit 3
}
out="${root}/deploy/local/.cache/baseline-${commit:0:12}"
bin="${out}/sportsconnect"
if [[ ! -x "${bin}" ]]; then
	src="$(mktemp -d)"
	trap 'rm -rf "${src}"' EXIT
	say "building ${ref} (${commit:0:12}) into ${bin} ..."
	git -C "${root}" archive "${commit}" | tar -x -C "${src}"
	mkdir -p "${out}"
	(cd "${src}" && "${GO:-go}" build -o "${bin}.tmp" ./cmd/sportsconnect)
	mv "${bin}.tmp" "${bin}"
fi
echo "${bin}"
