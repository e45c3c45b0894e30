#!/usr/bin/env bash
# Makes sure podman and runc are installed, installing Debian's packages
# only when one of them is missing (a fresh CI machine). Needs root, or
# sudo without a password, for the installation; prints why it cannot and
# exits non-zero otherwise, so a caller fails with the reason.
set -euo pipefail

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-podman: ${missing[*]} missing and there is no apt-get to install it; install podman and runc by hand" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	echo "ensure-podman: ${missing[*]} missing; installing it needs root or password-less sudo: run 'apt-get install -y podman runc' as root" >&2
	exit 1
fi

echo "ensure-podman: installing podman runc (missing: ${missing[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have stale or no package lists: update once if the
# first attempt fails.
if ! "${as_root[@]}" apt-get install -y podman runc; then
	"${as_root[@]}" apt-get update
	"${as_root[@]}" apt-get install -y podman runc
fi
command -v podman >/dev/null && command -v runc >/dev/null || {
	echo "ensure-podman: apt-get finished but podman or runc is still not on PATH" >&2
	exit 1
}
