# pgbouncer: the PostgreSQL connection pooler, as pid 1 in the foreground,
# as user postgres: the client half of the two-container example of
# contrib/units (pgbouncer.toml in front of postgres.toml, on the network
# "app" of contrib/networks).
#
# The entrypoint writes the configuration at each start, from the
# environment, into /run/pgbouncer (a tmpfs): the database server's name
# on the container's network (PGBOUNCER_SERVER, default postgres) and the
# password of POSTGRES_PASSWORD, then drops to postgres for good. It
# listens on 127.0.0.1:6432 in the container.
PACKAGES=(pgbouncer)
# pgbouncer needs its libraries only: not postgresql-common's perl tools,
# nor the init script's lsb-base.
PURGE=(postgresql-common postgresql-client-common libjson-perl perl perl-modules-5.36 libperl5.36 ucf lsb-base)
SETUP='
rm -rf /etc/pgbouncer /var/log/postgresql
'
ENTRYPOINT='["/usr/local/bin/dockah-entrypoint"]'
CMD='["pgbouncer", "/run/pgbouncer/pgbouncer.ini"]'
IMAGE_USER=root
WORKDIR=/
PORTS=(6432)
ENV=(LANG=C.UTF-8)
