#!/usr/bin/env bash
# Installs the tools the chart-generator's integration tests run against
# (helm, kube-linter, kustomize, k8s-validate) into ${ORBIT_CACHE_DIR:-$HOME/.cache/orbit}/bin.
#
# k8s-validate (beside this script) is kube-apiserver's own decoding and create
# validation, built from k8s.io/kubernetes: what the chart renders is held to
# the rules of the API server that will receive it, without a cluster.
#
# They are built from source with `go install` because only the Go module proxy
# is reachable here: release tarballs cannot be downloaded. kubectl is not
# built (its module graph does not `go install` cleanly); `kubectl kustomize`
# runs the same kustomize library the standalone `kustomize build` does.
#
# The module proxy reachable here refuses golang.stackrox.io/kube-linter
# (403). kube-linter is then built from the source tree named by
# ORBIT_KUBE_LINTER_SRC (a checkout of github.com/stackrox/kube-linter; its
# dependencies still come from the proxy) or left out with a notice, and the
# integration tests skip their kube-linter step. helm and kustomize are required.
#
# A tool already in the bin directory, built at the wanted version with the
# wanted flags, is left alone: a second run takes well under a second.
# Prints one line per tool. Versions can be overridden with ORBIT_*_VERSION.
set -euo pipefail

HELM_VERSION="${ORBIT_HELM_VERSION:-v3.16.4}"
KUBE_LINTER_VERSION="${ORBIT_KUBE_LINTER_VERSION:-latest}"
# v5.8.3, the latest when this was written, needs Go 1.27; v5.8.2 is the newest that builds with Go 1.26.
KUSTOMIZE_VERSION="${ORBIT_KUSTOMIZE_VERSION:-v5.8.2}"

cache_dir="${ORBIT_CACHE_DIR:-$HOME/.cache/orbit}"
bin_dir="$cache_dir/bin"
mkdir -p "$bin_dir"

if ! command -v go >/dev/null 2>&1; then
  echo "install-chart-tools: go is not on PATH; install Go 1.22 or newer" >&2
  exit 1
fi

# Parallel test workers may call this at once; one builds, the others wait and then find the tools.
exec 9>"$cache_dir/install-chart-tools.lock"
flock 9

export GOBIN="$bin_dir"
# A caller's GOFLAGS (-mod=vendor and the like) would break `go install pkg@version`.
export GOFLAGS="-buildvcs=false"

# The stamp records what was built (version and build flags): `go install`
# binaries cannot always report their own version, and a flag change must rebuild.
stamp_file() { echo "$bin_dir/.$1.version"; }
installed_stamp() {
  if [ -x "$bin_dir/$1" ] && [ -f "$(stamp_file "$1")" ]; then cat "$(stamp_file "$1")"; fi
}

# install_tool TOOL PACKAGE VERSION STAMP_SUFFIX [go install flags...]
# Returns 1 (after saying why) when go could not build the tool.
install_tool() {
  local tool="$1" pkg="$2" version="$3" suffix="$4"; shift 4
  local have; have="$(installed_stamp "$tool")"
  # "latest" is satisfied by whatever was installed; a pinned version must match exactly.
  if [ -n "$have" ] && { [ "$version" = latest ] || [ "$have" = "$version$suffix" ]; }; then
    echo "install-chart-tools: $tool ${have%%+*} already in $bin_dir"
    return 0
  fi
  local started=$SECONDS
  echo "install-chart-tools: building $tool ($pkg@$version) with $(go env GOVERSION), this takes minutes" >&2
  if ! go install "$@" "$pkg@$version"; then
    echo "install-chart-tools: go install $pkg@$version failed" >&2
    return 1
  fi
  local resolved="$version"
  if [ "$version" = latest ]; then
    resolved="$(go version -m "$bin_dir/$tool" | awk '$1 == "mod" { print $3; exit }')"
  fi
  echo "$resolved$suffix" > "$(stamp_file "$tool")"
  echo "install-chart-tools: installed $tool $resolved into $bin_dir in $((SECONDS - started))s"
}

install_kube_linter_from_source() {
  local src="$1"
  # A tree unpacked from `git archive` has no tags to describe, so its version can be named.
  local version="${ORBIT_KUBE_LINTER_SRC_VERSION:-}"
  [ -n "$version" ] || version="$(cd "$src" && git describe --tags 2>/dev/null || echo source)"
  if [ "$(installed_stamp kube-linter)" = "$version" ]; then
    echo "install-chart-tools: kube-linter $version already in $bin_dir"
    return 0
  fi
  local started=$SECONDS
  echo "install-chart-tools: building kube-linter from $src ($version), this takes minutes" >&2
  (cd "$src" && go build -trimpath -ldflags "-X golang.stackrox.io/kube-linter/internal/version.version=$version" \
    -o "$bin_dir/kube-linter" ./cmd/kube-linter)
  echo "$version" > "$(stamp_file kube-linter)"
  echo "install-chart-tools: installed kube-linter $version into $bin_dir in $((SECONDS - started))s"
}

# Release builds of helm set these with ldflags (its Makefile). Without them
# `helm version` says "v3.16" and `helm template` assumes Kubernetes 1.20,
# which fails charts with a newer kubeVersion. The Kubernetes minor is client-go's.
helm_gomod="$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
client_go="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$helm_gomod")"  # v0.31.3
k8s_minor="$(echo "$client_go" | cut -d. -f2)"
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags="$helm_ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done
install_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "+k8s1.$k8s_minor" -ldflags "$helm_ldflags"

if ! install_tool kube-linter golang.stackrox.io/kube-linter/cmd/kube-linter "$KUBE_LINTER_VERSION" ""; then
  if [ -n "${ORBIT_KUBE_LINTER_SRC:-}" ] && [ -f "$ORBIT_KUBE_LINTER_SRC/go.mod" ]; then
    install_kube_linter_from_source "$ORBIT_KUBE_LINTER_SRC"
  elif [ -n "$(installed_stamp kube-linter)" ]; then
    echo "install-chart-tools: kube-linter $(installed_stamp kube-linter) already in $bin_dir (built from source earlier)"
  else
    echo "install-chart-tools: kube-linter NOT installed: the module proxy refused it; set ORBIT_KUBE_LINTER_SRC to a kube-linter source tree to build it" >&2
  fi
fi

install_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" ""

# Rebuilt whenever its source or module versions change: the stamp is their hash.
install_k8s_validate() {
  local src; src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/k8s-validate"
  local wanted; wanted="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)"
  if [ "$(installed_stamp k8s-validate)" = "$wanted" ]; then
    echo "install-chart-tools: k8s-validate $wanted already in $bin_dir"
    return 0
  fi
  local started=$SECONDS
  echo "install-chart-tools: building k8s-validate (k8s.io/kubernetes $(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$src/go.mod")) with $(go env GOVERSION), this takes minutes" >&2
  (cd "$src" && go build -trimpath -o "$bin_dir/k8s-validate" .)
  echo "$wanted" > "$(stamp_file k8s-validate)"
  echo "install-chart-tools: installed k8s-validate $wanted into $bin_dir in $((SECONDS - started))s"
}
install_k8s_validate
