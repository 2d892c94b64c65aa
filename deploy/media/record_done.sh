#!/bin/sh
# nginx-rtmp `exec_record_done`: one push session's FLV recording is closed. Remux it to MP4 with
# the index at the front (phones play it progressively), store it as
# {recordings}/{stream}/{stream}-{unix start}.mp4, and tell the gateway's record hook, retrying
# for about a minute (the hook is idempotent: the location names the replay).
# Usage: record_done.sh FLV STREAM RECORDINGS_DIR   (ONAIR_HOOKS_URL, ONAIR_MEDIA_HOOK_TOKEN in the environment)
set -u
flv=$1 name=$2 recordings=$3
base=$(basename "$flv" .flv)  # {stream}-{unix start}: nginx's record_unique suffix
started=${base##*-}
ended=$(stat -c %Y "$flv")  # the FLV's last write: the end of the push
mkdir -p "$recordings/$name"
out="$recordings/$name/$base.mp4"
if ! ffmpeg -nostdin -loglevel error -y -i "$flv" -c copy -movflags +faststart -f mp4 "$out.part"; then
  echo "record_done: remux of $flv failed (kept)" >&2
  rm -f "$out.part"
  exit 1
fi
mv -f "$out.part" "$out"
rm -f "$flv"
duration=$(ffprobe -v error -show_entries format=duration -of default=noprint_wrappers=1:nokey=1 "$out")
size=$(stat -c %s "$out")
for wait in 1 2 4 8 15 30; do
  if curl -fsS -m 10 -o /dev/null --data-urlencode "name=$name" --data-urlencode "location=$name/$base.mp4" \
      -d "started=$started" -d "ended=$ended" -d "duration=$duration" -d "size=$size" \
      "$ONAIR_HOOKS_URL/v1/hooks/nginx-rtmp/record_done?token=$ONAIR_MEDIA_HOOK_TOKEN"; then
    exit 0
  fi
  sleep "$wait"
done
echo "record_done: the gateway never took $out" >&2
exit 1
