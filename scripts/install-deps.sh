#!/usr/bin/env bash
# install-deps.sh -- installs, from Debian's packages, whatever the build and tests need and
# this machine lacks. apt-get runs only when a package is missing; without root it names the
# packages and stops.
set -euo pipefail

packages=(
  build-essential cmake pkg-config        # compiler and build
  libevent-dev libhiredis-dev libsqlite3-dev  # the three libraries
  libssl-dev                              # libcrypto: the cluster secret's HMAC proofs
  redis-tools                             # redis-cli, redis-benchmark (tests and `make run` users)
  redis-server                            # the reference: differential tests and `make bench`
  netcat-openbsd                          # nc -N: the half-close tests (clients.halfclose)
  python3 python3-redis python3-pytest    # integration tests (/usr/bin/python3)
  iproute2 nftables iptables libnetfilter-queue-dev  # network faults: netns, nft, NFQUEUE, nfdelay
  fabric python3-fabric                   # deploy/fabfile.py (fab, Fabric 2)
  openssh-server openssh-client           # multi-host tests: one sshd per simulated host
  systemd                                 # systemd-analyze verify of deploy/systemd units
  clang libclang-rt-14-dev                # make asan (part of make test) and make fuzz: ASan, UBSan, libFuzzer
)

# Node.js runs the ioredis / node-redis tests. Machines of this kind ship Node 20 with npm;
# Debian's nodejs is the fallback where node is absent.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "twopc needs these Debian packages: ${missing[*]}" >&2
  echo "install them as root:  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps Debian's redis-server package from starting a server on 6379 (the
# tests and the benchmark start their own on free ports, and `make run` wants 6379), and
# openssh-server's from starting an sshd on the machine's port 22 (each simulated host of
# the multi-host tests runs its own). It must be in place before apt-get install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
