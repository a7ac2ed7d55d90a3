#!/usr/bin/env bash
# pulumi-language-go.sh prints the path of the pulumi-language-go plugin
# (the Go language host the `pulumi` CLI runs to compile `runtime: go`
# programs and policy packs), building it on first use.
#
# Order: $PULUMI_LANGUAGE_GO if set, else the build.sh of the shared tool
# (../shared/tools/pulumi-language-go next to the repository, then
# /work/shared/tools/pulumi-language-go), which caches its build in
# ${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n "${PULUMI_LANGUAGE_GO:-}" ]]; then
	echo "$PULUMI_LANGUAGE_GO"
	exit 0
fi
for dir in "$repo_root/../shared/tools/pulumi-language-go" /work/shared/tools/pulumi-language-go; do
	if [[ -x "$dir/build.sh" ]]; then
		exec "$dir/build.sh"
	fi
done
cat >&2 <<MSG
pulumi-language-go.sh: the Go language host's source was not found.
Looked for build.sh in:
  $repo_root/../shared/tools/pulumi-language-go
  /work/shared/tools/pulumi-language-go
The Go module proxy does not serve github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3, so its
source is kept in that shared directory; put it there, or set PULUMI_LANGUAGE_GO to a built binary.
MSG
exit 1
