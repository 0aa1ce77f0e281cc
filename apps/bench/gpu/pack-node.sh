#!/usr/bin/env bash
# Packs what the GPU machine lacks for onnxruntime-node's WebGPU run: this machine's node binary and
# onnxruntime-node (linux x64 only) with onnxruntime-common, as one .tar.xz small enough to carry
# (device calls carry at most 64 MiB). Usage: apps/bench/gpu/pack-node.sh <out-dir>
set -euo pipefail
out=${1:?usage: pack-node.sh <out-dir>}
root=$(cd "$(dirname "$0")/../../.." && pwd)
pkg=$(readlink -f "$root/node_modules/.pnpm/onnxruntime-node@1.30.0/node_modules/onnxruntime-node")
common=$(readlink -f "$pkg/../onnxruntime-common")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/node/bin" "$stage/node/node_modules/onnxruntime-node/bin/napi-v6/linux" "$out"
cp "$(readlink -f "$(command -v node)")" "$stage/node/bin/node"
cp -r "$pkg/package.json" "$pkg/dist" "$stage/node/node_modules/onnxruntime-node/"
cp -r "$pkg/bin/napi-v6/linux/x64" "$stage/node/node_modules/onnxruntime-node/bin/napi-v6/linux/"
cp -rL "$common" "$stage/node/node_modules/onnxruntime-common"
cp "$root/apps/bench/gpu/run_webgpu.mjs" "$stage/node/"
tar -C "$stage" -cJf "$out/node.tar.xz" node
ls -l "$out/node.tar.xz"
