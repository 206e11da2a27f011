#!/usr/bin/env bash
# System packages the tests need: Debian's Python stack writes the fixtures the tests read.
set -euo pipefail
need=()
/usr/bin/python3 -c 'import torch, numpy, h5py, onnx' 2>/dev/null || need+=(python3-torch python3-numpy python3-h5py python3-onnx)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${need[@]}"
fi
