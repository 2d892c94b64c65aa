#!/usr/bin/env bash
# Run a private nginx with Debian's RTMP module in the foreground (Ctrl-C / SIGTERM stops it).
# Settings (environment): ONAIR_RTMP_PORT (1935), ONAIR_MEDIA_HTTP_PORT (8080),
# ONAIR_MEDIA_DIR (./var/nginx), ONAIR_HOOKS_URL (http://127.0.0.1:8010, the gateway's hooks port),
# ONAIR_MEDIA_HOOK_TOKEN, ONAIR_APP_NAME (live), ONAIR_RTMP_BIND (0.0.0.0); see deploy/nginx/render.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
as_root_apt_install nginx libnginx-mod-rtmp ffmpeg curl || true
if [ ! -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then
  echo "error: nginx's RTMP module is missing (apt-get install nginx libnginx-mod-rtmp)" >&2
  exit 1
fi
prefix=$(realpath -m "${ONAIR_MEDIA_DIR:-$root/var/nginx}")
mkdir -p "$prefix"/{hls,tmp,rec,recordings,thumbnails}
sh "$root/deploy/nginx/render.sh" "$root/deploy/nginx/nginx-rtmp.conf.template" "$prefix" > "$prefix/nginx.conf"
exec nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
