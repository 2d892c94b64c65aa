"""Writes onair-dashboard.json, the Grafana dashboard (`python deploy/k8s/monitoring/dashboard.py`).

The dashboard is generated so that it stays short to review and in step with shared/metrics.py
(a test checks that the committed JSON is this script's output and that every metric it queries
exists). Top row: is the room list healthy right now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("onair-dashboard.json")
LIST = 'route="/v1/rooms"'

# (row title, [(panel title, unit, [(PromQL, legend)], kind)])
ROWS: list[tuple[str, list[tuple[str, str, list[tuple[str, str]], str]]]] = [
    ("The room list", [
        ("Live rooms (per gateway directory)", "short", [("onair_directory_rooms", "{{pod}}")], "stat"),
        ("List requests / s", "reqps", [(f"sum(rate(onair_http_requests_total{{{LIST}}}[1m]))", "list")],
         "timeseries"),
        ("List latency", "s", [
            (f"histogram_quantile(0.5, sum by (le) (rate(onair_http_request_duration_seconds_bucket{{{LIST}}}[5m])))",
             "p50"),
            (f"histogram_quantile(0.99, sum by (le) (rate(onair_http_request_duration_seconds_bucket{{{LIST}}}[5m])))",
             "p99")], "timeseries"),
        ("Directory staleness (event to directory, p99)", "s", [
            ("histogram_quantile(0.99, sum by (le) (rate(onair_directory_event_lag_seconds_bucket[5m])))", "p99")],
         "timeseries"),
        ("HTTP errors by status", "reqps", [
            ('sum by (status) (rate(onair_http_requests_total{status=~"5..|429"}[5m]))', "{{status}}")],
         "timeseries"),
    ]),
    ("Rooms", [
        ("Rooms by status", "short", [("max by (status) (onair_rooms)", "{{status}}")], "timeseries"),
        ("Closes by reason / min", "short", [("sum by (reason) (rate(onair_rooms_closed_total[5m])) * 60",
                                               "{{reason}}")], "timeseries"),
        ("Black-screen closes / min", "short", [("sum(rate(onair_watcher_black_screen_closes_total[5m])) * 60",
                                                 "closes")], "timeseries"),
        ("Pushes stopped and back / min", "short", [
            ("sum by (to) (rate(onair_rooms_stream_changes_total[5m])) * 60", "{{to}}")], "timeseries"),
        ("Pushes of closed rooms cut / min", "short", [
            ("sum by (result) (rate(onair_stream_cuts_total[5m])) * 60", "{{result}}")], "timeseries"),
    ]),
    ("Follows and go-live alerts", [
        ("Follows and unfollows / min", "short", [("sum by (change) (rate(onair_follows_total[5m])) * 60",
                                                   "{{change}}")], "timeseries"),
        ("Followers put on the bus to alert / min", "short", [
            ("sum(rate(onair_follow_alerts_total[5m])) * 60", "followers")], "timeseries"),
        ("followed_live sent to connected followers / min", "short", [
            ("sum(rate(onair_followed_live_sent_total[5m])) * 60", "sent")], "timeseries"),
    ]),
    ("Message bus", [
        ("Consumed by outcome", "short", [("sum by (outcome) (rate(onair_messages_consumed_total[5m]))",
                                           "{{outcome}}")], "timeseries"),
        ("Dead-lettered (1 h)", "short", [
            ('sum(increase(onair_messages_consumed_total{outcome=~"dead_lettered|rejected"}[1h]))', "dead")], "stat"),
        ("Handler time p99 by type", "s", [
            ("histogram_quantile(0.99, sum by (le, type) (rate(onair_message_handler_seconds_bucket[5m])))",
             "{{type}}")], "timeseries"),
        ("Published / s and refused publishes", "short", [
            ("sum(rate(onair_messages_published_total[5m]))", "published"),
            ("sum(rate(onair_publish_failures_total[5m]))", "refused")], "timeseries"),
        ("Counter batch size p50", "short", [
            ("histogram_quantile(0.5, sum by (le, side) (rate(onair_counter_batch_size_bucket[5m])))", "{{side}}")],
         "timeseries"),
    ]),
    ("Status watcher and cloud", [
        ("Seconds since the last watcher cycle", "s", [("time() - max(onair_watcher_last_cycle_timestamp_seconds)",
                                                        "since")], "stat"),
        ("Watched rooms and cycle time p99", "short", [
            ("max(onair_watcher_rooms_watched)", "watched"),
            ("histogram_quantile(0.99, sum by (le) (rate(onair_watcher_cycle_seconds_bucket[5m])))", "cycle s")],
         "timeseries"),
        ("Stream polls by result", "short", [("sum by (result) (rate(onair_watcher_streams_polled_total[5m]))",
                                              "{{result}}")], "timeseries"),
        ("Cloud calls by action and result", "short", [
            ("sum by (action, result) (rate(onair_cloud_calls_total[5m]))", "{{action}} {{result}}")], "timeseries"),
        ("Cloud call time p99", "s", [
            ("histogram_quantile(0.99, sum by (le, action) (rate(onair_cloud_call_duration_seconds_bucket[5m])))",
             "{{action}}")], "timeseries"),
    ]),
]


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y, ident = 0, 1
    for row, row_panels in ROWS:
        panels.append({"type": "row", "title": row, "id": ident, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        ident, y = ident + 1, y + 1
        width = 24 // len(row_panels)
        for n, (title, unit, queries, kind) in enumerate(row_panels):
            panels.append({
                "type": kind, "title": title, "id": ident,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": width, "x": n * width, "y": y},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [{"expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                            for i, (expr, legend) in enumerate(queries)],
            })
            ident += 1
        y += 8
    return {
        "title": "Onair", "uid": "onair", "schemaVersion": 39, "version": 1, "editable": True,
        "time": {"from": "now-1h", "to": "now"}, "refresh": "30s", "tags": ["onair"],
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Prometheus"}]},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=1) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
