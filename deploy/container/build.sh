#!/usr/bin/env bash
# Builds the sportsconnect container image from this checkout with podman,
# with no base image and no registry access: a static binary (CGO_ENABLED=0),
# the machine's CA bundle, a passwd/group with the user 65532, the licence
# and notices.
#
#   deploy/container/build.sh            # tags sportsconnect:latest and sportsconnect:<version>
#   IMAGE=name:tag deploy/container/build.sh
#
# GO names the go command (default: go). The version and revision labels are
# what the binary itself reports (GET / of the REST API): Go stamps the
# module version and VCS revision of the checkout into it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
GO=${GO:-go}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

bash "$here/ensure-podman.sh"
# Podman reads only this configuration (see the file for why each line).
export CONTAINERS_CONF="$here/containers.conf"

if [ ! -s "$CA_BUNDLE" ]; then
	echo "build.sh: no CA bundle at $CA_BUNDLE (install ca-certificates, or set CA_BUNDLE)" >&2
	exit 1
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/sportsconnect-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

cd "$root"
# -buildvcs=auto: stamp the revision even where GOFLAGS says -buildvcs=false,
# and build without it where there is no VCS (a source tarball).
CGO_ENABLED=0 "$GO" build -buildvcs=auto -trimpath -ldflags "-s -w" -o "$ctx/sportsconnect" ./cmd/sportsconnect
cp "$CA_BUNDLE" "$ctx/ca-certificates.crt"
cp "$here/passwd" "$here/group" "$ctx/"
cp LICENSE deploy/THIRD_PARTY_NOTICES.md "$ctx/"
chmod 0644 "$ctx/ca-certificates.crt" "$ctx/passwd" "$ctx/group" "$ctx/LICENSE" "$ctx/THIRD_PARTY_NOTICES.md"
chmod 0755 "$ctx/sportsconnect"

# The labels mirror internal/rest.BuildInfo: the main module's version
# ("dev" for an unstamped "(devel)") and vcs.revision ("unknown").
info=$("$GO" version -m "$ctx/sportsconnect")
version=$(awk '$1 == "mod" { print $3; exit }' <<<"$info")
revision=$(awk '$1 == "build" && $2 ~ /^vcs.revision=/ { sub(/^vcs.revision=/, "", $2); print $2; exit }' <<<"$info")
if [ -z "$version" ] || [ "$version" = "(devel)" ]; then version=dev; fi
revision=${revision:-unknown}

tags=()
if [ -n "${IMAGE:-}" ]; then
	tags+=(--tag "$IMAGE")
else
	# An image tag allows [A-Za-z0-9_.-]: v0.0.0-2026...-abcdef+dirty becomes ..._dirty.
	tags+=(--tag sportsconnect:latest --tag "sportsconnect:$(tr -c 'A-Za-z0-9_.\n-' '_' <<<"$version" | cut -c1-128)")
fi

first=${IMAGE:-sportsconnect:latest}
previous=$(podman image inspect --format '{{.Id}}' "$first" 2>/dev/null || true)

# --layers=false: no intermediate images left behind by every build.
podman --runtime runc build --pull=never --layers=false --file "$here/Containerfile" \
	--build-arg VERSION="$version" --build-arg REVISION="$revision" \
	"${tags[@]}" "$ctx"

# The image the tag named before, if this build left it without a tag (and
# no container uses it), goes: rebuilding leaves no dangling images.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$first")" ] &&
	[ "$(podman image inspect --format '{{len .RepoTags}}' "$previous" 2>/dev/null)" = 0 ]; then
	podman rmi "$previous" >/dev/null 2>&1 || true
fi

size=$(podman image inspect --format '{{.Size}}' "$first")
echo "built $first (version $version, revision $revision): $size bytes"
