"""The deployment as shipped: every Kubernetes overlay rendered with `kubectl kustomize` and each
built-in object validated strictly against the Kubernetes schemas (oldest and newest supported
versions); what production needs read from the rendered prod overlay; the compose file parsed.
A broken or loosened manifest fails here, in CI."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
# Objects of operators Onair relies on in production, by kind: their API group.
OPERATOR_KINDS = {"RabbitmqCluster": "rabbitmq.com/v1beta1", "MongoDBCommunity": "mongodbcommunity.mongodb.com/v1",
                  "PodMonitor": "monitoring.coreos.com/v1", "PrometheusRule": "monitoring.coreos.com/v1"}
SERVICES = ("gateway", "rooms", "status-watcher", "moderation")

Doc = dict[str, Any]


def render(overlay: str) -> list[Doc]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is needed to render the overlays (kubectl kustomize)")
    out = subprocess.run([kubectl, "kustomize", str(OVERLAYS / overlay)], check=True, capture_output=True, text=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module")
def prod() -> list[Doc]:
    return render("prod")


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def containers(deployment: Doc) -> Iterator[Doc]:
    yield from deployment["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize("overlay", sorted(p.name for p in OVERLAYS.iterdir()))
def test_every_object_of_every_overlay_is_valid(overlay: str) -> None:
    docs = render(overlay)
    assert docs
    for doc in docs:
        if doc["kind"] in OPERATOR_KINDS:
            assert doc["apiVersion"] == OPERATOR_KINDS[doc["kind"]]
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)  # raises on any unknown or wrong field


def test_prod_deployments_are_hardened_probed_and_bounded(prod: list[Doc]) -> None:
    deployments = of_kind(prod, "Deployment")
    assert {f"onair-{name}" for name in SERVICES} | {"onair-media"} == set(deployments)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in containers(deployment):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert container["readinessProbe"] and container["livenessProbe"], name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"])
    for name in SERVICES:
        (service,) = containers(deployments[f"onair-{name}"])
        assert service["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
        assert service["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
        # Its own Secret, required (not optional), and no other service's.
        assert service["envFrom"] == [{"configMapRef": {"name": "onair-config"}},
                                      {"secretRef": {"name": f"onair-{name}-secrets"}}], name


def test_prod_scales_survives_disruption_and_scrapes(prod: list[Doc]) -> None:
    hpas = of_kind(prod, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {"onair-gateway", "onair-rooms"}
    assert all(h["spec"]["minReplicas"] >= 2 for h in hpas.values())
    budgets = [b["spec"]["selector"]["matchLabels"] for b in of_kind(prod, "PodDisruptionBudget").values()]
    for deployment in of_kind(prod, "Deployment").values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(selector.items() <= labels.items() for selector in budgets), deployment["metadata"]["name"]
        assert deployment["spec"]["replicas"] >= 2
    (monitor,) = [m for m in of_kind(prod, "PodMonitor").values() if m["metadata"]["name"] == "onair"]
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "ops"
    assert of_kind(prod, "PrometheusRule")["onair"]["spec"]["groups"][0]["rules"]


def test_prod_backing_services_are_replicated_and_secrets_are_not_committed(prod: list[Doc]) -> None:
    assert of_kind(prod, "RabbitmqCluster")["onair-rabbitmq"]["spec"]["replicas"] == 3
    mongo = of_kind(prod, "MongoDBCommunity")["onair-mongo"]["spec"]
    assert mongo["members"] == 3 and mongo["type"] == "ReplicaSet"
    assert not of_kind(prod, "Secret"), "Secrets are created from a secret store, never rendered from the repo"
    assert "CHANGE-ME" not in yaml.safe_dump_all(prod)


def test_prod_exposes_only_the_gateway_and_media_and_denies_the_rest(prod: list[Doc]) -> None:
    (ingress,) = of_kind(prod, "Ingress").values()
    backends = {(p["path"], p["backend"]["service"]["name"]) for rule in ingress["spec"]["rules"]
                for p in rule["http"]["paths"]}
    # The API and the moderation console; the media server's HLS, thumbnails and replays, never its
    # /stat, /control or /internal/.
    assert backends == {("/v1", "onair-gateway"), ("/console", "onair-gateway"), ("/live/", "onair-media"),
                        ("/thumbnails/", "onair-media"), ("/recordings/", "onair-media")}
    assert ingress["spec"]["tls"][0]["secretName"] == "onair-tls"
    policies = of_kind(prod, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny
    from_outside = [name for name, p in policies.items() for rule in p["spec"].get("ingress", [])
                    if any("ingress-nginx" in str(peer) for peer in rule.get("from", []))]
    assert sorted(from_outside) == ["gateway", "media-server"]
    store_clients = policies["owners-to-store"]["spec"]["podSelector"]["matchExpressions"][0]["values"]
    assert sorted(store_clients) == ["moderation", "rooms"]  # the gateway and the watcher never reach the store
    services = {s["metadata"]["name"]: s["spec"] for s in of_kind(prod, "Service").values()}
    assert [s for s, spec in services.items() if spec.get("type") == "LoadBalancer"] == ["onair-rtmp"]


def test_dev_runs_in_development_mode_with_its_own_broker_and_store() -> None:
    dev = render("dev")
    config = of_kind(dev, "ConfigMap")["onair-config"]["data"]
    assert config["ONAIR_ENV"] == "development"
    assert set(of_kind(dev, "StatefulSet")) == {"rabbitmq", "mongo"}
    assert all(d["spec"]["replicas"] == 1 for d in of_kind(dev, "Deployment").values())


def test_compose_runs_the_whole_system_without_publishing_the_broker_or_the_store() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"rabbitmq", "mongo", "media", "gateway", "rooms", "status_watcher", "moderation"}
    assert "ports" not in services["rabbitmq"] and "ports" not in services["mongo"]
    assert services["media"]["build"]["dockerfile"] == "deploy/media/Dockerfile"
    media_image = (ROOT / "deploy" / "media" / "Dockerfile").read_text()
    assert "deploy/nginx/nginx-rtmp.conf.template" in media_image and "render.sh" in media_image
    for name in ("gateway", "rooms", "status_watcher", "moderation"):
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])
