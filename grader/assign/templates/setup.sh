#!/usr/bin/env bash
# Gradescope image setup: Python from miniforge, a CPU-only torch, and the grader package.
# No LaTeX and no browser: the autograder exports no PDF.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends wget ca-certificates
wget -nv "https://github.com/conda-forge/miniforge/releases/download/25.3.1-0/Miniforge3-Linux-$(uname -m).sh" \
    -O /tmp/miniforge.sh
# Under /opt, not /root: the unprivileged users that run student code must read the stdlib.
bash /tmp/miniforge.sh -b -p /opt/miniforge3
/opt/miniforge3/bin/mamba env create -f /autograder/source/environment.yml
/opt/miniforge3/bin/mamba clean --all --yes
rm -rf /root/.cache/pip /tmp/miniforge.sh
