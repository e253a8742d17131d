# sshd: OpenSSH's server, as pid 1 in the foreground (sshd -D -e).
#
# Host keys are made at the first start in /var/lib/sshd (a volume keeps
# them across restarts and image updates); no two containers share one.
# Logins are by key only, for the user "dockah" (uid 1000): the entrypoint
# installs $SSH_AUTHORIZED_KEYS for it, and keys in
# /var/lib/sshd/authorized_keys/USER work for any user. Root cannot log in.
PACKAGES=(openssh-server)
ENTRYPOINT='["/usr/local/bin/dockah-entrypoint"]'
CMD='["/usr/sbin/sshd", "-D", "-e"]'
IMAGE_USER=root
WORKDIR=/
PORTS=(22)
SETUP='
# Keys made while building would be the same in every container.
rm -f /etc/ssh/ssh_host_*
# The mount point of the volume: a read-only root cannot get new ones.
mkdir -p /var/lib/sshd
useradd --uid 1000 --user-group --create-home --shell /bin/bash dockah
# "*", not the locked "!": without PAM, sshd refuses any login, even by
# key, to an account whose password is locked.
usermod --password "*" dockah
'
