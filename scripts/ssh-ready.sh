#!/usr/bin/env bash
# ssh-ready.sh
#
# The first step on every host: proves that root can log in over SSH with the
# stack's key and pinned host key, and that bash runs there. The component runs
# it with the official poll pattern (dialErrorLimit -1 plus a create timeout),
# so it simply waits while a host is still booting. Every other step on the
# host depends on it.
#
# Stdout: host=<hostname as the kernel reports it>
set -euo pipefail

name=$(uname -n) || {
    echo "ssh-ready.sh: cannot read the host name" >&2
    exit 1
}
printf 'host=%s\n' "$name"
