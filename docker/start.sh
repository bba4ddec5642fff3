#!/bin/sh
# Pod entry point: authorize the keys RunPod injects (PUBLIC_KEY: the account's keys;
# SSH_PUBLIC_KEY: the one `mh-train remote` passes for this pod), start sshd, stay alive.
set -eu
mkdir -p /root/.ssh /run/sshd
chmod 700 /root/.ssh
for key in "${PUBLIC_KEY:-}" "${SSH_PUBLIC_KEY:-}"; do
    [ -n "$key" ] && printf '%s\n' "$key" >> /root/.ssh/authorized_keys
done
[ -f /root/.ssh/authorized_keys ] && chmod 600 /root/.ssh/authorized_keys
ssh-keygen -A >/dev/null
/usr/sbin/sshd -o PasswordAuthentication=no -o PermitRootLogin=prohibit-password
exec sleep infinity
