#!/usr/bin/env bash
# Run a private nginx with Debian's RTMP module in the foreground (Ctrl-C / SIGTERM stops it).
# Settings (environment): ONAIR_RTMP_PORT (1935), ONAIR_MEDIA_HTTP_PORT (8080),
# ONAIR_MEDIA_DIR (./var/nginx), ONAIR_GATEWAY_URL (http://127.0.0.1:8000),
# ONAIR_MEDIA_HOOK_TOKEN, ONAIR_APP_NAME (live), ONAIR_RTMP_BIND (0.0.0.0).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
as_root_apt_install nginx libnginx-mod-rtmp || true
if [ ! -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then
  echo "error: nginx's RTMP module is missing (apt-get install nginx libnginx-mod-rtmp)" >&2
  exit 1
fi
prefix=$(realpath -m "${ONAIR_MEDIA_DIR:-$root/var/nginx}")
mkdir -p "$prefix"/{hls,tmp}
sed -e "s#@PREFIX@#$prefix#g" \
    -e "s#@RTMP_BIND@#${ONAIR_RTMP_BIND:-0.0.0.0}#g" \
    -e "s#@RTMP_PORT@#${ONAIR_RTMP_PORT:-1935}#g" \
    -e "s#@HTTP_PORT@#${ONAIR_MEDIA_HTTP_PORT:-8080}#g" \
    -e "s#@USER@#$(id -un) $(id -gn)#g" \
    -e "s#@APP@#${ONAIR_APP_NAME:-live}#g" \
    -e "s#@HOOK_BASE@#${ONAIR_GATEWAY_URL:-http://127.0.0.1:8000}#g" \
    -e "s#@HOOK_TOKEN@#${ONAIR_MEDIA_HOOK_TOKEN:-onair-dev-media-hook-token}#g" \
    "$root/deploy/nginx/nginx-rtmp.conf.template" > "$prefix/nginx.conf"
exec nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
