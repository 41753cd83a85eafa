#!/bin/sh
# After install or upgrade: the system user cutover-serve@.service runs as,
# and the SSH host key in /etc/cutover, owned by that user (mode 0600, as
# cutover serve requires). The service, sandboxed, cannot write there.
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers cutover.conf
elif ! getent passwd cutover >/dev/null; then
	useradd --system --home-dir /var/lib/cutover --no-create-home --shell /usr/sbin/nologin cutover
fi
key=/etc/cutover/ssh_host_ed25519_key
if [ ! -e "$key" ]; then
	cutover host-key "$key"
	chown cutover:cutover "$key" "$key.pub"
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
