#!/usr/bin/env bash
# `make demo` (with `make run` going): play an anchor end to end against the local stack.
# Creates a room, pushes a test pattern with ffmpeg to the returned push URL, activates the
# room, shows it in the list with its play URLs, probes the RTMP play URL, then closes it.
set -euo pipefail
cd "$(dirname "$0")/.."
api=${ONAIR_GATEWAY_URL:-http://127.0.0.1:${ONAIR_GATEWAY_PORT:-8000}}
py=.venv/bin/python
json() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
anchor=$("$py" -m services.gateway.devtoken "demo-anchor-$RANDOM")
viewer=$("$py" -m services.gateway.devtoken "demo-viewer")

echo "== 1. the anchor asks to go live"
created=$(curl -sf -X POST "$api/v1/rooms" -H "Authorization: Bearer $anchor" -H 'Content-Type: application/json' \
  -d '{"title": "Demo show", "cover_url": "https://img.example.com/demo.jpg"}')
room=$(echo "$created" | json 'd["room"]["id"]')
push=$(echo "$created" | json 'd["push_url"]')
echo "room $room (unactive); push URL: $push"

echo "== 2. the SDK pushes (ffmpeg test pattern)"
ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine=frequency=440 \
  -c:v libx264 -preset ultrafast -tune zerolatency -g 50 -pix_fmt yuv420p -c:a aac -f flv "$push" 2>/dev/null &
ffmpeg_pid=$!
trap 'kill $ffmpeg_pid 2>/dev/null || true' EXIT
sleep 3
curl -s "${ONAIR_NGINX_HTTP_URL:-http://127.0.0.1:8080}/stat" | grep -o "<name>onair_$room</name>" | head -1 \
  && echo "the media server reports the push"

echo "== 3. push began (SDK event 1002): the app activates the room"
curl -sf -X POST "$api/v1/rooms/$room/activate" -H "Authorization: Bearer $anchor" | json 'd["status"]'

echo "== 4. a viewer opens the app: the room list, with server-signed play URLs"
listing=$(curl -sf "$api/v1/rooms?limit=20" -H "Authorization: Bearer $viewer")
rtmp=$(echo "$listing" | ROOM="$room" "$py" -c '
import json, os, sys
page = json.load(sys.stdin)
mine = [r for r in page["rooms"] if r["id"] == os.environ["ROOM"]][0]
print(len(page["rooms"]), "live rooms on the first page; ours:", file=sys.stderr)
print(json.dumps(mine, indent=2), file=sys.stderr)
print(mine["play_urls"]["rtmp"])
')
echo "== 5. playing the rtmp play URL:"
ffprobe -v error -show_entries stream=codec_type,codec_name,width,height -of compact "$rtmp" || true

echo "== 6. the anchor ends the show: the room closes and its push is cut"
curl -sf -X POST "$api/v1/rooms/$room/close" -H "Authorization: Bearer $anchor" | json 'd["status"], d["close_reason"]'
for _ in $(seq 50); do kill -0 "$ffmpeg_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ffmpeg_pid" 2>/dev/null && echo "the push is still running" || echo "the media server cut the push"
echo "== 7. its signed play URL no longer plays:"
ffprobe -v error -rw_timeout 3000000 -show_entries stream=codec_type -of compact "$rtmp" 2>&1 | tail -1 || true
