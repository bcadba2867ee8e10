#!/usr/bin/env bash
# Builds a pinned tool from the Go module proxy into bin/<tool>-<version>/ and prints that
# directory. A tool already built at its pinned version is not rebuilt, so only the first run
# pays (kube-apiserver takes ~7 minutes cold on 2 cores).
#
#   hack/build-tool.sh kubernetes|etcd|kwok|envoy-gateway|controller-gen|kustomize|envtest
#
# Each tool has its own module under hack/tools/<tool> (go.mod + go.sum pin it), so their
# dependency graphs never mix with each other or with the operator's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tool=${1:?usage: $0 TOOL}

# One build of a tool at a time: two first builds of the same tool would share $out.tmp. Test
# packages run in parallel and several may ask for the same tool; the later ones wait here and
# then find it built. (envtest takes its own lock, then those of kubernetes and etcd: always in
# that order, so no deadlock.)
mkdir -p "$root/bin"
exec 9>"$root/bin/.build-tool-$tool.lock"
flock 9

version_of() { # module path, tool dir
  (cd "$root/hack/tools/$2" && go list -m -f '{{.Version}}' "$1")
}

build() { # tool dir, output dir, ldflags, packages...
  local dir=$1 out=$2 ldflags=$3
  shift 3
  local missing=()
  for pkg in "$@"; do
    [ -x "$out/$(basename "$pkg")" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  mkdir -p "$out.tmp"
  for pkg in "${missing[@]}"; do
    echo "building $pkg into $out (first run only)" >&2
    (cd "$root/hack/tools/$dir" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp/$(basename "$pkg")" "$pkg")
  done
  mkdir -p "$out"
  mv "$out.tmp"/* "$out"/ && rmdir "$out.tmp"
}

case $tool in
kubernetes)
  v=$(version_of k8s.io/kubernetes kubernetes)
  minor=$(echo "$v" | cut -d. -f2)
  out=$root/bin/kubernetes-$v
  build kubernetes "$out" "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  ;;
etcd)
  v=$(version_of go.etcd.io/etcd/server/v3 etcd)
  out=$root/bin/etcd-$v
  if [ ! -x "$out/etcd" ]; then
    build etcd "$out" "-s -w" go.etcd.io/etcd/server/v3
    mv "$out/v3" "$out/etcd"
  fi
  ;;
kwok)
  v=$(version_of sigs.k8s.io/kwok kwok)
  out=$root/bin/kwok-$v
  build kwok "$out" "-s -w" sigs.k8s.io/kwok/cmd/kwok
  ;;
envoy-gateway)
  v=$(version_of github.com/envoyproxy/gateway envoy-gateway)
  out=$root/bin/envoy-gateway-$v
  build envoy-gateway "$out" "-s -w" github.com/envoyproxy/gateway/cmd/envoy-gateway
  ;;
controller-gen)
  v=$(version_of sigs.k8s.io/controller-tools controller-gen)
  out=$root/bin/controller-gen-$v
  build controller-gen "$out" "-s -w" sigs.k8s.io/controller-tools/cmd/controller-gen
  ;;
kustomize)
  v=$(version_of sigs.k8s.io/kustomize/kustomize/v5 kustomize)
  out=$root/bin/kustomize-$v
  if [ ! -x "$out/kustomize" ]; then
    build kustomize "$out" "-s -w" sigs.k8s.io/kustomize/kustomize/v5
    mv "$out/v5" "$out/kustomize"
  fi
  ;;
envtest)
  # The directory envtest's KUBEBUILDER_ASSETS points at: kube-apiserver and etcd side by side.
  k=$("$0" kubernetes)
  e=$("$0" etcd)
  out=$root/bin/envtest-$(basename "$k")-$(basename "$e")
  mkdir -p "$out"
  ln -sf "$k/kube-apiserver" "$out/kube-apiserver"
  ln -sf "$e/etcd" "$out/etcd"
  ;;
*)
  echo "unknown tool $tool" >&2
  exit 2
  ;;
esac
echo "$out"
