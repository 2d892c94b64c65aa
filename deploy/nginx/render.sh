#!/bin/sh
# Render the media server's nginx.conf from nginx-rtmp.conf.template: used by `make run`
# (scripts/media_server.sh) and by the media-server image (deploy/media/Dockerfile), so both run
# the same configuration. Usage: render.sh TEMPLATE PREFIX > nginx.conf
# Settings (environment): ONAIR_RTMP_BIND (0.0.0.0), ONAIR_RTMP_PORT (1935), ONAIR_MEDIA_HTTP_BIND
# (127.0.0.1; the HLS, /stat and /control port), ONAIR_MEDIA_HTTP_PORT (8080), ONAIR_APP_NAME
# (live), ONAIR_HOOKS_URL (the gateway's hooks port, http://127.0.0.1:8010), ONAIR_MEDIA_HOOK_TOKEN, ONAIR_MEDIA_NODE (this
# process's name in push sessions; the host name, a pod's name in Kubernetes, and its HTTP port),
# ONAIR_THUMBNAIL_SECONDS (10), ONAIR_MEDIA_SCRIPTS (deploy/media), ONAIR_MEDIA_RECORDING (on).
set -eu
template=$1 prefix=$2
# The record and thumbnail scripts (deploy/media/; /etc/onair in the media image).
scripts=${ONAIR_MEDIA_SCRIPTS:-$(cd "$(dirname "$0")/../media" && pwd)}
# A thumbnail is refreshed twice per ONAIR_THUMBNAIL_SECONDS (default 10): never older than that.
every=$(( ${ONAIR_THUMBNAIL_SECONDS:-10} / 2 ))
[ "$every" -ge 1 ] || every=1
# ONAIR_MEDIA_RECORDING=off: no recordings (replays) and no thumbnails.
recording=""
[ "${ONAIR_MEDIA_RECORDING:-on}" = "off" ] && recording="# "
sed -e "s#@PREFIX@#$prefix#g" \
    -e "s#@RTMP_BIND@#${ONAIR_RTMP_BIND:-0.0.0.0}#g" \
    -e "s#@RTMP_PORT@#${ONAIR_RTMP_PORT:-1935}#g" \
    -e "s#@HTTP_BIND@#${ONAIR_MEDIA_HTTP_BIND:-127.0.0.1}#g" \
    -e "s#@HTTP_PORT@#${ONAIR_MEDIA_HTTP_PORT:-8080}#g" \
    -e "s#@USER@#$(id -un) $(id -gn)#g" \
    -e "s#@APP@#${ONAIR_APP_NAME:-live}#g" \
    -e "s#@HOOK_BASE@#${ONAIR_HOOKS_URL:-http://127.0.0.1:8010}#g" \
    -e "s#@HOOK_TOKEN@#${ONAIR_MEDIA_HOOK_TOKEN:-onair-dev-media-hook-token}#g" \
    -e "s#@SCRIPTS@#$scripts#g" \
    -e "s|@RECORDING@|$recording|g" \
    -e "s#@THUMBNAIL_EVERY@#$every#g" \
    -e "s#@NODE@#${ONAIR_MEDIA_NODE:-$(uname -n)-${ONAIR_MEDIA_HTTP_PORT:-8080}}#g" \
    "$template"
