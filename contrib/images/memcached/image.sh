# memcached: the cache daemon, run as the unprivileged user memcache.
#
# It needs no entrypoint script: it starts as memcache (so it needs no
# capability at all), listens on 127.0.0.1:11211 in the container and logs
# to stderr. The definition's command can add options (-m MEGABYTES, -c
# CONNECTIONS, -t THREADS).
PACKAGES=(memcached)
# memcached depends on perl for the memcached-tool script only.
PURGE=(perl perl-modules-5.36 libperl5.36)
ENTRYPOINT='["/usr/bin/memcached"]'
CMD='["--listen=127.0.0.1", "--port=11211", "--udp-port=0", "--memory-limit=64", "--conn-limit=1024"]'
IMAGE_USER=memcache
WORKDIR=/
PORTS=(11211)
