#!/usr/bin/env bash
# pulumi-cli.sh prints the path of a `pulumi` CLI whose version matches the Pulumi
# Go SDK pinned in go.mod, building it on first use.
#
# Order: $PULUMI_CLI if set, then `pulumi` on PATH, then the cache
# ${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/pulumi-<version>/bin/pulumi,
# which is built from github.com/pulumi/pulumi/pkg/v3/cmd/pulumi when missing.
#
# The build happens in a throw-away module so the repository's go.mod never
# gains the CLI's dependency tree. The version ldflag is set so the Automation
# API's version check passes without PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK.
#
# Usage: scripts/pulumi-cli.sh            # print the path (build if needed)
#        scripts/pulumi-cli.sh --no-path  # ignore a pulumi on PATH
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
use_path=1
if [[ "${1:-}" == "--no-path" ]]; then use_path=0; fi

if [[ -n "${PULUMI_CLI:-}" ]]; then
	echo "$PULUMI_CLI"
	exit 0
fi
if [[ $use_path == 1 ]] && command -v pulumi >/dev/null 2>&1; then
	command -v pulumi
	exit 0
fi

version=$(awk '$1 == "github.com/pulumi/pulumi/sdk/v3" { print $2; exit }' "$repo_root/go.mod")
if [[ -z "$version" ]]; then
	echo "pulumi-cli.sh: github.com/pulumi/pulumi/sdk/v3 not found in $repo_root/go.mod" >&2
	exit 1
fi

cache_dir=${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/pulumi-$version
bin="$cache_dir/bin/pulumi"
if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

echo "pulumi-cli.sh: building pulumi $version into $cache_dir (first run only, a few minutes)" >&2
mkdir -p "$cache_dir/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
	cd "$work"
	export GOFLAGS=-mod=mod GOWORK=off
	go mod init sluice.local/pulumi-cli >/dev/null 2>&1
	go get "github.com/pulumi/pulumi/pkg/v3@$version" >&2
	go build -trimpath \
		-ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
		-o "$work/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
)
# Rename into place so a concurrent or interrupted build never leaves a partial binary.
mv "$work/pulumi" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
echo "$bin"
