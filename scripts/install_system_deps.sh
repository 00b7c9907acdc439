#!/usr/bin/env bash
# Debian packages the test suite drives for real, installed only when missing:
#   chromium    the browser tests (tests/e2e)
#   prometheus  `promtool check config` (tests/unit/test_infra.py), `promtool test rules` of the
#               alerts (tests/unit/test_alerts.py) and the Prometheus server of the production-path
#               and model-health tests (tests/integration/test_{production_stack,model_health}.py)
#   prometheus-alertmanager
#               Alertmanager and `amtool check-config` (tests/unit/test_alerting_config.py, the
#               alerting integration test tests/integration/test_alerting.py)
#   wrk         the load generator of the serving benchmark (benchmarks/serving.py)
# and the local PostgreSQL on 127.0.0.1:5432, started if it has stopped. Idempotent; safe to run
# while another checkout runs it (apt waits for the dpkg lock instead of failing).
#
# `--platform` (what `make up` runs): only what `astralytiq up` starts besides Python, Prometheus
# and Alertmanager; where they cannot be installed it says so and `up` runs without alerting.
set -euo pipefail

say() { echo "install_system_deps: $*"; }

platform_only=false
if [ "${1:-}" = "--platform" ]; then
  platform_only=true
fi

if ! $platform_only && command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  say "PostgreSQL on 127.0.0.1:5432 is down; starting it"
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
  if [ -n "$version" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || say "warning: PostgreSQL still down; the integration tests will fail"
fi

missing=()
if ! $platform_only; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
fi
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  missing+=(prometheus)
fi
# Debian names the server prometheus-alertmanager; an upstream install names it alertmanager.
if ! command -v amtool >/dev/null 2>&1 || ! { command -v prometheus-alertmanager || command -v alertmanager; } >/dev/null 2>&1; then
  missing+=(prometheus-alertmanager)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

# For `make up`, alerting is optional: say what is missing and let the platform start without it.
give_up() {
  if $platform_only; then
    say "$1; \`astralytiq up\` runs without Prometheus and Alertmanager" >&2
    exit 0
  fi
  say "$1" >&2
  exit 1
}
if ! command -v apt-get >/dev/null 2>&1; then
  give_up "no apt-get here; install these yourself: ${missing[*]}"
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || give_up "need root (or sudo) to apt-get install ${missing[*]}"
  sudo=(sudo)
fi
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq)

say "installing Debian packages: ${missing[*]}"
for attempt in 1 2 3; do
  if "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "${missing[@]}"; then
    break
  fi
  if [ "$attempt" -eq 3 ]; then
    give_up "apt-get failed three times for: ${missing[*]}"
  fi
  say "apt-get failed (attempt $attempt); retrying in 10 s"
  sleep 10
done

# The prometheus package enables a system service on :9090; the tests start their own
# Prometheus, so on a machine with systemd the packaged one is switched off again.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
# Likewise the packaged Alertmanager on :9093.
if [[ " ${missing[*]} " == *" prometheus-alertmanager "* ]] && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
fi
for tool in "${missing[@]}"; do
  case "$tool" in
    prometheus) command -v promtool >/dev/null 2>&1 || { say "promtool missing after install" >&2; exit 1; } ;;
    prometheus-alertmanager) command -v amtool >/dev/null 2>&1 || { say "amtool missing after install" >&2; exit 1; } ;;
    *) command -v "$tool" >/dev/null 2>&1 || { say "$tool missing after install" >&2; exit 1; } ;;
  esac
done
