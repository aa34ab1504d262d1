#!/usr/bin/env bash
# Install the system packages the tests need, with apt-get, only where missing:
# Chromium (browser journeys), a CJK font (so Chinese renders), PostgreSQL server.
set -euo pipefail
want=()
if [[ "${1:-}" == "venv" ]]; then
  want+=(python3-venv)
else
  command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || want+=(chromium)
  # WenQuanYi specifically: the delivery-note PDF embeds a TrueType CJK font (Noto CJK is CFF).
  fc-list 2>/dev/null | grep -qi "wqy" || want+=(fonts-wqy-zenhei)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want+=(postgresql)
fi
[[ ${#want[@]} -eq 0 ]] && exit 0
echo "Installing system packages: ${want[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
