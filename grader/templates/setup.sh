#!/usr/bin/env bash
# Gradescope image setup: Python from miniforge, a CPU-only torch, and the grader package.
# No LaTeX and no browser: the autograder exports no PDF.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends wget ca-certificates
wget -nv "https://github.com/conda-forge/miniforge/releases/download/25.3.1-0/Miniforge3-Linux-$(uname -m).sh" \
    -O /tmp/miniforge.sh
bash /tmp/miniforge.sh -b -p /root/miniforge3
/root/miniforge3/bin/mamba env create -f /autograder/source/environment.yml
/root/miniforge3/bin/mamba clean --all --yes
rm -rf /root/.cache/pip /tmp/miniforge.sh
