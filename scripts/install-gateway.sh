#!/usr/bin/env bash
# Installs bk-gateway on a canteen's box (Debian/Ubuntu/Armbian, systemd).
#   sudo scripts/install-gateway.sh path/to/bk-gateway [path/to/config.yaml]
# The detector plugins built next to the binary (bk-plugin-*, as make build
# and make cross leave them) go to /usr/lib/bk-gateway/plugins, the config's
# default plugin_dir; /usr/lib/bk-gateway/models, the default model_dir, is
# made empty (the models the config's models section names go there).
# Idempotent: an existing /etc/bk-gateway/config.yaml is kept unless a new
# one is given; the binary and the unit are replaced; the service restarted.
# The unit starts the binary as the launcher of over-the-air updates
# (bk-gateway launch, README "Updates").
set -euo pipefail
bin=${1:?usage: install-gateway.sh BK_GATEWAY_BINARY [CONFIG]}
cfg=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-}   # for a staged install (packaging, tests)

"$bin" --version >/dev/null || { echo "install: $bin does not run on this machine" >&2; exit 1; }
install -d "$prefix/usr/local/bin" "$prefix/etc/bk-gateway" "$prefix/var/lib/bk-gateway" "$prefix/etc/systemd/system"
install -m 0755 "$bin" "$prefix/usr/local/bin/bk-gateway"
# A binary installed by hand is the one to run: an update installed over the
# air earlier (gateway/ota) stops being current; the launcher clears its
# marker.
rm -f "$prefix/var/lib/bk-gateway/ota/current"
install -d "$prefix/usr/lib/bk-gateway/plugins" "$prefix/usr/lib/bk-gateway/models"
for p in "$(dirname "$bin")"/bk-plugin-*; do
  [ -f "$p" ] && install -m 0755 "$p" "$prefix/usr/lib/bk-gateway/plugins/"
done
if [ -n "$cfg" ]; then
  "$bin" check --config "$cfg"
  install -m 0640 "$cfg" "$prefix/etc/bk-gateway/config.yaml"
elif [ ! -f "$prefix/etc/bk-gateway/config.yaml" ]; then
  install -m 0640 "$here/../gateway/config/example.yaml" "$prefix/etc/bk-gateway/config.yaml"
  echo "install: wrote the example config to /etc/bk-gateway/config.yaml: set gateway.id, broker and cameras, then: systemctl restart bk-gateway" >&2
fi
install -m 0644 "$here/packaging/bk-gateway.service" "$prefix/etc/systemd/system/bk-gateway.service"

if [ -z "$prefix" ]; then
  id bk-gateway >/dev/null 2>&1 || useradd --system --home /var/lib/bk-gateway --shell /usr/sbin/nologin bk-gateway
  chown -R bk-gateway:bk-gateway /var/lib/bk-gateway
  chgrp bk-gateway /etc/bk-gateway/config.yaml
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable bk-gateway >/dev/null
    if bk-gateway check --config /etc/bk-gateway/config.yaml >/dev/null 2>&1; then
      systemctl restart bk-gateway
      echo "install: bk-gateway running; status page on the config's http.listen" >&2
    else
      echo "install: config not valid yet; the service starts once it is (bk-gateway check --config /etc/bk-gateway/config.yaml)" >&2
    fi
  else
    echo "install: no systemd here; run: bk-gateway run --config /etc/bk-gateway/config.yaml" >&2
  fi
fi
