#!/usr/bin/env bash
# Installs the system programs the test suite meets for real: a Redis server
# (the BullMQ queue worker's tests) and Chromium (the browser build's tests).
# `npm test` runs this first, so the README's test command works on a fresh
# Debian machine; on a machine that already has both it does nothing.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "rexec tests need: ${missing[*]} (not found, and this machine has no apt-get; install them and rerun)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "rexec tests need: ${missing[*]}; run as root or install them: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing system packages for the tests: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
