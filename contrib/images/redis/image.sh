# redis: the key-value store, as pid 1 in the foreground, as user redis.
#
# The entrypoint starts as root only to give /var/lib/redis (a volume,
# which dockah creates owned by root) to redis, then drops to redis for
# good. The configuration binds 127.0.0.1:6379 in the container, keeps
# data in /var/lib/redis with an append-only file, and logs to stdout.
PACKAGES=(redis-server)
ENTRYPOINT='["/usr/local/bin/dockah-entrypoint"]'
CMD='["redis-server", "/etc/redis/dockah.conf"]'
IMAGE_USER=root
WORKDIR=/var/lib/redis
PORTS=(6379)
