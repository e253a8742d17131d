# nginx: the web server, as pid 1 in the foreground.
#
# The master runs as root to bind port 80 and drops its workers to
# www-data. It serves /var/www/html (mount a volume there); while that has
# no index.html, / shows Debian's welcome page. The error log goes to
# stderr and the access log to syslog, both into the host journal.
PACKAGES=(nginx)
ENTRYPOINT='["/usr/sbin/nginx"]'
# -e stderr: nginx opens its compiled-in error log
# (/var/log/nginx/error.log) before it reads its configuration.
CMD='["-e", "stderr", "-g", "daemon off;"]'
IMAGE_USER=root
WORKDIR=/
PORTS=(80)
# The default site is replaced by the server in nginx.conf.
SETUP='rm -f /etc/nginx/sites-enabled/default'
