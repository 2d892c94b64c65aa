#!/bin/sh
# nginx-rtmp `exec_push`: runs while a stream is pushed (nginx stops it with SIGTERM when the push
# ends). Every EVERY seconds, the first frame of the stream's newest HLS segment (a keyframe, at
# most one fragment old) becomes {thumbnails}/{stream}.jpg, replaced atomically so a viewer never
# reads half a file. The thumbnail is removed when the push ends (the room leaves the list then).
# Usage: thumbnail.sh STREAM HLS_DIR THUMBNAILS_DIR EVERY
set -u
name=$1 hls=$2 thumbnails=$3 every=$4
mkdir -p "$thumbnails"
trap 'rm -f "$thumbnails/$name.jpg" "$thumbnails/.$name.jpg"; exit 0' TERM INT
while :; do
  newest=$(ls -t "$hls/$name"-[0-9]*.ts 2>/dev/null | head -n 1)
  if [ -n "$newest" ] && ffmpeg -nostdin -loglevel error -y -i "$newest" -frames:v 1 -vf "scale=-2:'min(360,ih)'" \
      -f image2 "$thumbnails/.$name.jpg"; then
    mv -f "$thumbnails/.$name.jpg" "$thumbnails/$name.jpg"
  fi
  sleep "$every" &
  wait $!
done
