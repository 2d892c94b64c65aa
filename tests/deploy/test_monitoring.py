"""The dashboard and the alert rules query metrics that exist, and the committed dashboard is the
generator's output."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

import shared.metrics
from shared.metrics import HttpStats

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "monitoring"


def exported_names() -> set[str]:
    """Every series name shared/metrics.py exports (counters with _total, histograms' parts)."""
    names = set()
    for metric in vars(shared.metrics).values():
        # The client's metrics describe themselves; a collector of our own (HttpStats) collects.
        families = (metric.describe() if isinstance(metric, MetricWrapperBase)
                    else metric.collect() if isinstance(metric, HttpStats) else [])
        for family in families:
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
            names |= {family.name + suffix for suffix in suffixes}
    return names


def queried(text: str) -> set[str]:
    return set(re.findall(r"\bonair_[a-z_]+", text))


def test_the_committed_dashboard_is_generated() -> None:
    spec = importlib.util.spec_from_file_location("dashboard", MONITORING / "dashboard.py")
    assert spec is not None and spec.loader is not None
    dashboard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dashboard)
    assert (MONITORING / "onair-dashboard.json").read_text() == dashboard.render()


def test_dashboard_and_alerts_query_only_exported_metrics() -> None:
    exported = exported_names()
    panels = json.loads((MONITORING / "onair-dashboard.json").read_text())["panels"]
    dashboard_exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
    rules = yaml.safe_load((MONITORING / "onair-alerts.yaml").read_text())["spec"]["groups"][0]["rules"]
    alert_exprs = " ".join(rule["expr"] for rule in rules)
    assert queried(dashboard_exprs) and queried(alert_exprs)
    assert queried(dashboard_exprs) - exported == set()
    assert queried(alert_exprs) - exported == set()
    assert {rule["alert"] for rule in rules} >= {"OnairBlackScreenClosesSpiking", "OnairMessagesDeadLettered",
                                                 "OnairWatcherCyclesLate", "OnairCloudErrors", "OnairQueueDepth"}
