#!/usr/bin/env bash
# A throwaway cluster for a CI job: create, use, always delete.
# Usage: examples/ci-cluster.sh [IMAGE]
set -euo pipefail
image=${1:-docker.io/rancher/k3s:v1.35.5-k3s1}
name="ci-$RANDOM$RANDOM"
export KUBECONFIG
KUBECONFIG=$(mktemp -d)/kubeconfig
k3box() { node "$(dirname "$0")/../dist/cli/main.js" "$@"; }
trap 'k3box cluster delete "$name" --ignore-missing -q' EXIT
k3box cluster create "$name" --agents 1 --image "$image" --timeout 3m
kubectl --context "k3box-$name" get --raw /readyz
echo
kubectl --context "k3box-$name" get nodes -o name
