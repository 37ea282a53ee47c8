#!/usr/bin/env bash
# Checks deploy/alertmanager/alertmanager.yml offline with Debian's amtool (prometheus-alertmanager):
# it loads (amtool check-config), has the receiver and the two inhibit rules the relay's budget
# relies on, and routes every kind of alert to the DingTalk relay. A deliberately broken copy must
# be refused, so the check itself is shown able to fail.
# Usage: check_alertmanager_config.sh CONFIG AMTOOL
set -euo pipefail
config=$1
amtool=${2:-}
if [ -z "$amtool" ] || [ ! -x "$amtool" ]; then
  echo "amtool not found: install prometheus-alertmanager (scripts/install_deps.sh) and re-run cmake" >&2
  exit 1
fi
out=$("$amtool" check-config "$config")
echo "$out"
for want in "SUCCESS" " - route" " - 2 inhibit rules" " - 1 receivers"; do
  grep -qF -- "$want" <<<"$out" || { echo "check-config output lacks '$want'" >&2; exit 1; }
done
# Every alert reaches the relay, whatever its labels.
for labels in "alertname=SaseProcessDown severity=critical instance=sync-0:9461" \
              "alertname=SaseSyncRunFailed severity=warning source=demo-dingtalk" \
              "alertname=SaseEventInboxBacklog severity=info" "alertname=Unlabelled"; do
  # shellcheck disable=SC2086
  "$amtool" config routes test --config.file="$config" --verify.receivers=dingtalk $labels 2>/dev/null ||
    { echo "alert {$labels} does not route to the dingtalk receiver" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/group_by:/group_by_typo:/' "$config" >"$tmp/broken.yml"
if "$amtool" check-config "$tmp/broken.yml" >/dev/null 2>&1; then
  echo "amtool accepted a broken copy: the check proves nothing" >&2
  exit 1
fi
echo "alertmanager config: OK"
