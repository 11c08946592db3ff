"""The Helm chart at helm/marketplace, linted and rendered offline with helm-python-sdk.

helm-python-sdk binds Helm's Go SDK (no `helm` binary): `helm_python.lint(path, values)` is
`helm lint`, `Chart.load(path).render(values, name=, namespace=)` is `helm template` (hooks
included, the chart's defaults merged under the given values, values.schema.json enforced).
Every rendered object is then checked against the strict Kubernetes schema of the newest
version kubernetes-validate bundles.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

helm = pytest.importorskip("helm_python", reason="helm-python-sdk (the test extra) renders the chart")

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "marketplace"
CI_VALUES = sorted((CHART_DIR / "ci").glob("*.yaml"))
K8S_VERSION = kubernetes_validate.latest_version()
NAMESPACE = "marketplace"
RELEASE = "mkt"
# Objects whose schema comes from a CRD, not from Kubernetes itself.
CRD_API_GROUPS = {"monitoring.coreos.com"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DB_URL = "postgresql://marketplace:secret@db.example:5432/marketplace"

# Every environment variable the application reads, with the chart's value for it.
APP_ENV = {
    "MARKETPLACE_BACKEND": "kubernetes",
    "MARKETPLACE_NAMESPACE": None,  # from orders.namespace
    "MARKETPLACE_RUNNER_SERVICE_ACCOUNT": "marketplace-runner",
    "MARKETPLACE_JOB_BACKOFF_LIMIT": 0,
    "MARKETPLACE_JOB_ACTIVE_DEADLINE_SECONDS": 3600,
    "MARKETPLACE_JOB_TTL_SECONDS": 86400,
    "MARKETPLACE_RUN_AS_USER": 10000,
    "MARKETPLACE_ORDER_LOG_BYTES": 10485760,
    "MARKETPLACE_ORDER_STUCK_SECONDS": 300,
    "MARKETPLACE_LOG_POLL_SECONDS": 5,
    "MARKETPLACE_ARGO_RESOURCE_KINDS": "",
    "MARKETPLACE_OIDC_ISSUER": "",
    "MARKETPLACE_OIDC_AUDIENCE": "",
    "MARKETPLACE_OIDC_JWKS_URL": "",
    "MARKETPLACE_TOKEN_TTL_SECONDS": 86400,
    "MARKETPLACE_LOG_FORMAT": "json",
    "MARKETPLACE_LOG_LEVEL": "INFO",
    "MARKETPLACE_DATABASE_POOL_SIZE": 15,
    "MARKETPLACE_WEB_WORKERS": 2,
    "MARKETPLACE_WEB_THREADS": 4,
    "MARKETPLACE_WEB_TIMEOUT": 30,
    "MARKETPLACE_WEB_GRACEFUL_TIMEOUT": 30,
    "MARKETPLACE_WORKER_PORT": 8081,
    "MARKETPLACE_MAX_ARTIFACT_SIZE": "5Gi",
    "MARKETPLACE_ACCOUNT_STORAGE_QUOTA": "50Gi",
    "MARKETPLACE_PRODUCT_RETENTION_SECONDS": 0,
    "MARKETPLACE_STALE_UPLOAD_SECONDS": 86400,
    "MARKETPLACE_API_URL_FOR_WORKLOADS": None,  # the chart's Service unless set
    "MARKETPLACE_HELPER_IMAGE": None,  # the chart's image unless set
    "MARKETPLACE_ARGO_ARTIFACT_REPOSITORY": "",
    "MARKETPLACE_MAX_PRODUCTS_PER_ORDER": 1000,
    "MARKETPLACE_MAX_PRODUCT_BYTES_PER_ORDER": "10Gi",
    "PROMETHEUS_MULTIPROC_DIR": "/tmp/metrics",
}
SECRET_ENV = ("DATABASE_URL", "MARKETPLACE_SECRET_KEY")
# The object store's settings come from the objectStore values (its credentials from a Secret).
OBJECT_STORE_ENV = ("MARKETPLACE_S3_BUCKET", "MARKETPLACE_S3_ENDPOINT_URL", "MARKETPLACE_S3_REGION",
                    "MARKETPLACE_S3_PRESIGNED_DOWNLOADS")
OBJECT_STORE_SECRET_ENV = ("MARKETPLACE_S3_ACCESS_KEY_ID", "MARKETPLACE_S3_SECRET_ACCESS_KEY")
OBJECT_STORE = {"bucket": "marketplace-artifacts", "endpoint": "https://minio.example.com:9000",
                "region": "eu-west-1", "credentials": {"existingSecret": "object-store"}}

# Everything optional switched on, with an existing Secret instead of postgresql.url.
EVERYTHING_ON = {
    "existingSecret": "marketplace-credentials",
    "orders": {"namespace": "marketplace-orders"},
    "argo": {"enabled": True},
    "commonLabels": {"team": "analytics"},
    "imagePullSecrets": [{"name": "registry"}],
    "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
    "serviceAccount": {"annotations": {"example.com/role": "marketplace"}},
    "api": {"podAnnotations": {"example.com/scrape": "true"}, "nodeSelector": {"pool": "api"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "api", "effect": "NoSchedule"}],
            "priorityClassName": "high"},
    "worker": {"interval": 0.5, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["jobs"]}]}]}}}},
    "ingress": {"enabled": True, "className": "nginx",
                "tls": [{"secretName": "marketplace-tls", "hosts": ["marketplace.example.com"]}]},
    "pdb": {"enabled": True},
    "metrics": {"serviceMonitor": {"enabled": True, "additionalLabels": {"release": "prometheus"}}},
    "objectStore": OBJECT_STORE,
}


# --- helpers ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chart():
    loaded = helm.Chart.load(CHART_DIR)
    yield loaded
    loaded.close()


def ci_values(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def render(chart, values: dict, *, name: str = RELEASE, namespace: str = NAMESPACE) -> list[dict]:
    """The chart's objects (hooks included), as `helm template` would print them."""
    manifests = chart.render(values, name=name, namespace=namespace, is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def only(objects: list[dict], kind: str, name_suffix: str = "") -> dict:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)]
    assert len(matches) == 1, f"{kind} *{name_suffix}: {[o['metadata']['name'] for o in matches]}"
    return matches[0]


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def pod_specs(objects: list[dict]) -> list[tuple[str, dict]]:
    return [(f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"])
            for o in objects if o["kind"] in ("Deployment", "Job")]


def env_of(container: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in container.get("env", [])}


SCENARIOS = {
    **{f"ci/{path.name}": ci_values(path) for path in CI_VALUES},
    "everything-on": EVERYTHING_ON,
}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def scenario(request, chart):
    values = SCENARIOS[request.param]
    return values, render(chart, values)


# --- Chart.yaml, values.yaml, values.schema.json ----------------------------------------------

def test_chart_metadata_follows_pyproject():
    chart_yaml = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert chart_yaml["apiVersion"] == "v2"
    assert chart_yaml["name"] == "marketplace"
    assert chart_yaml["version"] == "0.1.0"
    assert str(chart_yaml["appVersion"]) == project["version"]


def test_ci_values_files_exist():
    assert {path.name for path in CI_VALUES} >= {"default-values.yaml", "argo-external-pg-values.yaml"}


def test_every_value_has_a_comment():
    """Each key of values.yaml has a comment on the line(s) above it or at the end of its line."""
    lines = (CHART_DIR / "values.yaml").read_text().splitlines()
    uncommented = []
    for number, line in enumerate(lines):
        if not re.match(r"^\s*(- )?[A-Za-z_][\w.-]*:", line) or "#" in line:
            continue
        above = lines[number - 1].strip() if number else ""
        if not above.startswith("#"):
            uncommented.append(f"{number + 1}: {line.strip()}")
    assert not uncommented, "values without a comment:\n" + "\n".join(uncommented)


def test_config_lists_every_environment_variable_the_app_reads(chart):
    config = chart.values["config"]
    for name, default in APP_ENV.items():
        assert name in config, name
        if default is not None:
            assert config[name] == default, name
    # Whatever app/config.py reads is in `config`, one of the two secret settings, or the object
    # store's (test_the_object_store_reaches_the_api_and_the_worker).
    source = (ROOT / "app" / "config.py").read_text()
    read = set(re.findall(r"""env(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    read |= set(re.findall(r"""_(?:int|bytes|bool)\(\s*env\s*,\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    assert read, "no environment variable found in app/config.py: has the way it reads them changed?"
    missing = read - set(config) - set(SECRET_ENV) - set(OBJECT_STORE_ENV) - set(OBJECT_STORE_SECRET_ENV)
    assert not missing, f"app/config.py reads {sorted(missing)}: add them to values.yaml config"


def test_schema_requires_a_string_database_url(chart):
    assert chart.schema["properties"]["postgresql"]["properties"]["url"]["type"] == "string"
    with pytest.raises(helm.HelmValuesError, match="postgresql/url"):
        chart.validate_schema({"postgresql": {"url": 5432}})
    with pytest.raises(helm.HelmValuesError):
        chart.render({"postgresql": {"url": ["postgresql://x"]}}, name=RELEASE, namespace=NAMESPACE)
    with pytest.raises(helm.HelmValuesError, match="MARKETPLACE_LOG_FORMAT"):
        chart.validate_schema({"postgresql": {"url": DB_URL}, "config": {"MARKETPLACE_LOG_FORMAT": "xml"}})


# --- lint ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("values_file", [None, *CI_VALUES], ids=lambda p: p.name if p else "chart-defaults")
def test_chart_lints_without_errors(values_file):
    values = ci_values(values_file) if values_file else None
    report = helm.lint(CHART_DIR, values, strict=True, namespace=NAMESPACE, kube_version=f"v{K8S_VERSION}")
    errors = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and errors == [], report


# --- every object is valid Kubernetes -----------------------------------------------------------

def supported_versions() -> list[str]:
    """The oldest and the newest Kubernetes of Chart.yaml's kubeVersion that kubernetes-validate ships."""
    floor = re.fullmatch(r">=(\d+)\.(\d+)\.0-0", yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["kubeVersion"])
    assert floor, "kubeVersion is an open range: >=MAJOR.MINOR.0-0"
    shipped = sorted({tuple(map(int, v.split(".")[:2])) for v in kubernetes_validate.utils.all_versions()})
    supported = [v for v in shipped if v >= (int(floor[1]), int(floor[2]))]
    assert supported, f"kubernetes-validate ships no schema of {floor[0]}"
    return [f"{major}.{minor}.0" for major, minor in (supported[0], supported[-1])]


def test_the_readme_states_the_charts_kubernetes_versions():
    oldest = ".".join(supported_versions()[0].split(".")[:2])
    assert f"a Kubernetes cluster ({oldest} or newer" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("version", supported_versions())
def test_every_object_passes_strict_kubernetes_validation(scenario, version):
    values, objects = scenario
    assert objects
    checked = 0
    for obj in objects:
        group = obj["apiVersion"].rpartition("/")[0]
        if group in CRD_API_GROUPS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {error.message}")
        checked += 1
    assert checked >= 10


def test_objects_carry_the_standard_labels(scenario):
    _, objects = scenario
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["helm.sh/chart"] == "marketplace-0.1.0"
        assert labels["app.kubernetes.io/name"] == "marketplace"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"]
        assert labels["app.kubernetes.io/component"]


# --- pods ---------------------------------------------------------------------------------------

def test_every_pod_is_restricted(scenario):
    _, objects = scenario
    specs = pod_specs(objects)
    assert {kind.split("/")[0] for kind, _ in specs} == {"Deployment", "Job"}
    for where, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, where
        assert pod["runAsUser"] == 10001, where
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", where
        mounts_by_volume = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] == 10001, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context["seccompProfile"]["type"] == "RuntimeDefault", where
            assert "add" not in context["capabilities"], where
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            for path in ("/tmp", "/data"):
                assert "emptyDir" in mounts_by_volume[mounts[path]], f"{where}: {path}"
            assert container["resources"]["requests"]["memory"], where
            assert container["resources"]["limits"]["memory"], where


def test_api_deployment(chart):
    objects = render(chart, ci_values(CHART_DIR / "ci" / "default-values.yaml"))
    deployment = only(objects, "Deployment", "-api")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"] == ["serve", "--production", "--host", "0.0.0.0", "--port", "8080"]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = env_of(container)
    assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] == "/tmp/metrics"
    metrics_mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp/metrics")
    assert "emptyDir" in next(v for v in spec["volumes"] if v["name"] == metrics_mount["name"])
    for name in SECRET_ENV:
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": f"{RELEASE}-marketplace", "key": name}
    assert container["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-marketplace"}}]
    assert spec["serviceAccountName"] == f"{RELEASE}-marketplace"


def test_worker_deployment(chart):
    objects = render(chart, ci_values(CHART_DIR / "ci" / "default-values.yaml"))
    spec = only(objects, "Deployment", "-worker")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"] == ["worker"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 8081, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    # The multiprocess folder belongs to gunicorn's API pods only.
    assert "PROMETHEUS_MULTIPROC_DIR" not in env_of(container)
    objects = render(chart, {"postgresql": {"url": DB_URL}, "worker": {"interval": 0.5}})
    (container,) = only(objects, "Deployment", "-worker")["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["worker", "--interval", "0.5"]


def test_configmap_holds_the_non_secret_environment(chart):
    objects = render(chart, {"postgresql": {"url": DB_URL}, "orders": {"namespace": "orders"}})
    data = only(objects, "ConfigMap")["data"]
    assert data["MARKETPLACE_BACKEND"] == "kubernetes"
    assert data["MARKETPLACE_LOG_FORMAT"] == "json"
    assert data["MARKETPLACE_NAMESPACE"] == "orders"
    assert data["MARKETPLACE_WORKER_PORT"] == "8081"
    assert data["MARKETPLACE_DATA_DIR"] == "/data"
    assert all(isinstance(value, str) for value in data.values())
    for absent in (*SECRET_ENV, "PROMETHEUS_MULTIPROC_DIR", "MARKETPLACE_OIDC_ISSUER"):
        assert absent not in data  # secret, API-only, or empty (the app's default applies)
    with pytest.raises(helm.HelmRenderError, match="config.DATABASE_URL"):
        render(chart, {"postgresql": {"url": DB_URL}, "config": {"DATABASE_URL": DB_URL}})
    with pytest.raises(helm.HelmRenderError, match="orders.namespace"):
        render(chart, {"postgresql": {"url": DB_URL}, "config": {"MARKETPLACE_NAMESPACE": "elsewhere"}})


def test_order_pods_reach_the_api_through_the_charts_service_with_the_charts_image(chart):
    values = {"postgresql": {"url": DB_URL}, "image": {"repository": "registry.example.com/marketplace", "tag": "1.2"}}
    data = only(render(chart, values), "ConfigMap")["data"]
    assert data["MARKETPLACE_API_URL_FOR_WORKLOADS"] == f"http://{RELEASE}-marketplace.{NAMESPACE}.svc:80"
    assert data["MARKETPLACE_HELPER_IMAGE"] == "registry.example.com/marketplace:1.2"
    chosen = {"MARKETPLACE_API_URL_FOR_WORKLOADS": "https://marketplace.internal",
              "MARKETPLACE_HELPER_IMAGE": "helper:1"}
    data = only(render(chart, {**values, "config": chosen}), "ConfigMap")["data"]
    assert {name: data[name] for name in chosen} == chosen


def test_the_object_store_reaches_the_api_and_the_worker(chart):
    from app.config import Config

    objects = render(chart, {"postgresql": {"url": DB_URL}, "objectStore": OBJECT_STORE})
    data = only(objects, "ConfigMap")["data"]
    assert {name: data[name] for name in OBJECT_STORE_ENV} == {
        "MARKETPLACE_S3_BUCKET": "marketplace-artifacts", "MARKETPLACE_S3_ENDPOINT_URL": "https://minio.example.com:9000",
        "MARKETPLACE_S3_REGION": "eu-west-1", "MARKETPLACE_S3_PRESIGNED_DOWNLOADS": "true"}
    for suffix in ("-api", "-worker"):
        (container,) = only(objects, "Deployment", suffix)["spec"]["template"]["spec"]["containers"]
        env = env_of(container)
        assert env["MARKETPLACE_S3_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == \
            {"name": "object-store", "key": "access-key-id"}, suffix
        assert env["MARKETPLACE_S3_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == \
            {"name": "object-store", "key": "secret-access-key"}, suffix
    # The migration needs no store.
    (migrate,) = only(objects, "Job")["spec"]["template"]["spec"]["containers"]
    assert not set(env_of(migrate)) & {*OBJECT_STORE_ENV, *OBJECT_STORE_SECRET_ENV}

    # What the pods get is what the application reads.
    secrets = {"DATABASE_URL": DB_URL, "MARKETPLACE_SECRET_KEY": "k",
               "MARKETPLACE_S3_ACCESS_KEY_ID": "id", "MARKETPLACE_S3_SECRET_ACCESS_KEY": "secret"}
    s3 = Config.from_env({**data, **secrets}).artifacts.s3
    assert (s3.bucket, s3.endpoint_url, s3.region, s3.access_key_id, s3.secret_access_key, s3.presigned_downloads) \
        == ("marketplace-artifacts", "https://minio.example.com:9000", "eu-west-1", "id", "secret", True)


def test_the_object_store_credentials_may_come_from_the_pods_identity(chart):
    values = {"postgresql": {"url": DB_URL}, "objectStore": {"bucket": "artifacts", "presignedDownloads": False},
              "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/marketplace"}}}
    objects = render(chart, values)
    data = only(objects, "ConfigMap")["data"]
    assert (data["MARKETPLACE_S3_BUCKET"], data["MARKETPLACE_S3_PRESIGNED_DOWNLOADS"]) == ("artifacts", "false")
    assert "MARKETPLACE_S3_ENDPOINT_URL" not in data and "MARKETPLACE_S3_REGION" not in data
    for _, spec in pod_specs(objects):
        assert not set(env_of(spec["containers"][0])) & set(OBJECT_STORE_SECRET_ENV)


def test_without_a_bucket_artifacts_stay_in_the_pods_and_the_notes_say_so(chart):
    values = {"postgresql": {"url": DB_URL}}
    objects = render(chart, values)
    assert not set(only(objects, "ConfigMap")["data"]) & {*OBJECT_STORE_ENV, *OBJECT_STORE_SECRET_ENV}
    for _, spec in pod_specs(objects):
        assert not set(env_of(spec["containers"][0])) & set(OBJECT_STORE_SECRET_ENV)
    notes = chart.render(values, name=RELEASE, namespace=NAMESPACE)["marketplace/templates/NOTES.txt"]
    assert "Set objectStore.bucket" in notes
    notes = chart.render({**values, "objectStore": OBJECT_STORE}, name=RELEASE,
                         namespace=NAMESPACE)["marketplace/templates/NOTES.txt"]
    assert "bucket marketplace-artifacts at https://minio.example.com:9000" in notes


def test_object_store_settings_are_checked(chart):
    with pytest.raises(helm.HelmRenderError, match="objectStore.bucket is required"):
        render(chart, {"postgresql": {"url": DB_URL}, "objectStore": {"endpoint": "https://minio:9000"}})
    with pytest.raises(helm.HelmRenderError, match="objectStore.bucket is required"):
        render(chart, {"postgresql": {"url": DB_URL}, "objectStore": {"credentials": {"existingSecret": "s3"}}})
    with pytest.raises(helm.HelmRenderError, match="config.MARKETPLACE_S3_SECRET_ACCESS_KEY: the object store is set"):
        render(chart, {"postgresql": {"url": DB_URL}, "config": {"MARKETPLACE_S3_SECRET_ACCESS_KEY": "leaked"}})
    for wrong in ({"bucket": "Not_A_Bucket"}, {"endpoint": "minio:9000"}, {"presignedDownloads": "yes"},
                  {"credentials": {"existingSecret": "s3", "accessKeyId": "AKIA..."}}):
        with pytest.raises(helm.HelmValuesError):
            chart.validate_schema({"postgresql": {"url": DB_URL}, "objectStore": wrong})
    with pytest.raises(helm.HelmValuesError, match="MARKETPLACE_MAX_ARTIFACT_SIZE"):
        chart.validate_schema({"postgresql": {"url": DB_URL}, "config": {"MARKETPLACE_MAX_ARTIFACT_SIZE": "5 GB"}})


def test_secret_holds_the_database_url_and_a_generated_key(chart):
    import base64

    objects = render(chart, {"postgresql": {"url": DB_URL}})
    secret = only(objects, "Secret", f"{RELEASE}-marketplace")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["DATABASE_URL"] == DB_URL
    assert len(data["MARKETPLACE_SECRET_KEY"]) >= 32
    objects = render(chart, {"postgresql": {"url": DB_URL}, "secretKey": "a-key-of-my-own"})
    secret = only(objects, "Secret", f"{RELEASE}-marketplace")
    assert base64.b64decode(secret["data"]["MARKETPLACE_SECRET_KEY"]).decode() == "a-key-of-my-own"


def test_existing_secret_replaces_the_charts_secrets(chart):
    objects = render(chart, {"existingSecret": "credentials"})
    assert of_kind(objects, "Secret") == []
    for where, spec in pod_specs(objects):
        for container in spec["containers"]:
            reference = env_of(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert reference == {"name": "credentials", "key": "DATABASE_URL"}, where


def test_rendering_without_a_database_url_fails_clearly(chart):
    with pytest.raises(helm.HelmRenderError) as failure:
        render(chart, {})
    message = str(failure.value)
    assert "postgresql.url is required" in message
    assert "existingSecret" in message
    with pytest.raises(helm.HelmRenderError, match="must be a PostgreSQL URL"):
        render(chart, {"postgresql": {"url": "sqlite:////data/marketplace.db"}})


# --- the migration hook ----------------------------------------------------------------------------

def test_hook_job_runs_db_upgrade_before_install_and_upgrade(chart):
    objects = render(chart, {"postgresql": {"url": DB_URL}})
    job = only(objects, "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    # Hooks run before the release's objects exist: the Secret it reads is a hook too, created first.
    secret_name = env_of(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"]
    secret = only(objects, "Secret", secret_name)
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
    assert "serviceAccountName" not in spec  # the release's ServiceAccount does not exist yet either
    assert "envFrom" not in container  # nor does its ConfigMap


# --- RBAC -------------------------------------------------------------------------------------------

EXPECTED_RULES = {
    ("batch", "jobs"): {"create", "get", "list", "watch", "delete"},
    ("", "pods"): {"get", "list", "watch"},
    ("", "pods/log"): {"get", "list", "watch"},
    ("", "events"): {"get", "list", "watch"},
    ("coordination.k8s.io", "leases"): {"get", "create", "update"},
}
ARGO_RULES = {
    ("argoproj.io", "workflows"): {"create", "get", "list", "watch", "patch", "delete"},
    ("argoproj.io", "workflowtemplates"): {"get", "list", "watch"},
}


def granted(role: dict) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


@pytest.mark.parametrize("argo", [False, True])
def test_role_grants_only_what_orders_need(chart, argo):
    values = {"postgresql": {"url": DB_URL}, "argo": {"enabled": argo}}
    objects = render(chart, values)
    role = only(objects, "Role", "-marketplace")
    for rule in role["rules"]:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
    assert granted(role) == (EXPECTED_RULES | ARGO_RULES if argo else EXPECTED_RULES)
    assert of_kind(objects, "ClusterRole") == [] and of_kind(objects, "ClusterRoleBinding") == []


@pytest.mark.parametrize("argo", [False, True])
def test_argo_orders_run_as_a_service_account_with_what_argos_executor_needs(chart, argo):
    values = {"postgresql": {"url": DB_URL}, "orders": {"namespace": "marketplace-orders"}, "argo": {"enabled": argo},
              "config": {"MARKETPLACE_RUNNER_SERVICE_ACCOUNT": "order-runner"}}
    objects = render(chart, values)
    runners = [o for o in objects if o["metadata"]["name"].endswith("argo-runner") or
               o["metadata"]["name"] == "order-runner"]
    if not argo:
        assert runners == []
        return
    account = only(objects, "ServiceAccount", "order-runner")
    role, binding = only(objects, "Role", "-argo-runner"), only(objects, "RoleBinding", "-argo-runner")
    assert {o["metadata"]["namespace"] for o in (account, role, binding)} == {"marketplace-orders"}
    assert granted(role) == {("argoproj.io", "workflowtaskresults"): {"create", "patch"}}  # Argo >= 3.4
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "order-runner",
                                    "namespace": "marketplace-orders"}]
    assert only(objects, "ConfigMap")["data"]["MARKETPLACE_RUNNER_SERVICE_ACCOUNT"] == "order-runner"


def test_role_lives_where_orders_run(chart):
    values = {"postgresql": {"url": DB_URL}, "orders": {"namespace": "marketplace-orders"}}
    objects = render(chart, values)
    role, binding = only(objects, "Role", "-marketplace"), only(objects, "RoleBinding", "-marketplace")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "marketplace-orders"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    service_account = only(objects, "ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": service_account["metadata"]["name"],
                                    "namespace": NAMESPACE}]
    # By default orders run in the release's namespace.
    objects = render(chart, {"postgresql": {"url": DB_URL}})
    assert only(objects, "Role", "-marketplace")["metadata"]["namespace"] == NAMESPACE
    assert only(objects, "ConfigMap")["data"]["MARKETPLACE_NAMESPACE"] == NAMESPACE


# --- the orders namespace --------------------------------------------------------------------------

def pod_security_labels(namespace: dict) -> dict[str, str]:
    return {key: value for key, value in namespace["metadata"]["labels"].items()
            if key.startswith("pod-security.kubernetes.io/")}


def admission(level: str) -> dict[str, str]:
    return {f"pod-security.kubernetes.io/{mode}{suffix}": value for mode in ("enforce", "warn", "audit")
            for suffix, value in (("", level), ("-version", "latest"))}


@pytest.mark.parametrize("argo, level", [(False, "restricted"), (True, "baseline")])
def test_the_orders_namespace_is_labelled_for_pod_security_admission(chart, argo, level):
    objects = render(chart, {"postgresql": {"url": DB_URL}, "orders": {"namespace": "marketplace-orders"},
                             "argo": {"enabled": argo}})
    namespace = only(objects, "Namespace")
    role = only(objects, "Role", "-marketplace")
    assert namespace["metadata"]["name"] == "marketplace-orders" == role["metadata"]["namespace"]
    assert pod_security_labels(namespace) == admission(level)
    assert namespace["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_the_pod_security_levels_can_be_chosen(chart):
    values = {"postgresql": {"url": DB_URL}, "argo": {"enabled": True},
              "orders": {"namespace": "orders", "podSecurity": {"enforce": "restricted", "warn": "baseline",
                                                                "version": "v1.30"}}}
    labels = pod_security_labels(only(render(chart, values), "Namespace"))
    assert (labels["pod-security.kubernetes.io/enforce"], labels["pod-security.kubernetes.io/warn"],
            labels["pod-security.kubernetes.io/audit"]) == ("restricted", "baseline", "restricted")
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.30"
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema({"postgresql": {"url": DB_URL}, "orders": {"podSecurity": {"enforce": "lenient"}}})


def test_a_namespace_the_chart_does_not_create_gets_the_labels_in_the_notes(chart):
    for values in ({"postgresql": {"url": DB_URL}},  # orders run in the release's own namespace
                   {"postgresql": {"url": DB_URL}, "orders": {"namespace": "orders", "createNamespace": False}}):
        assert of_kind(render(chart, values), "Namespace") == []
        notes = chart.render(values, name=RELEASE, namespace=NAMESPACE)["marketplace/templates/NOTES.txt"]
        assert "pod-security.kubernetes.io/enforce=restricted" in notes


# --- Service, Ingress, PodDisruptionBudget, ServiceMonitor --------------------------------------------

def test_service_sends_port_80_to_the_api(chart):
    objects = render(chart, {"postgresql": {"url": DB_URL}})
    service = only(objects, "Service", f"{RELEASE}-marketplace")
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "api"
    api = only(objects, "Deployment", "-api")
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_optional_objects_are_off_by_default(chart):
    kinds = {o["kind"] for o in render(chart, {"postgresql": {"url": DB_URL}})}
    assert not kinds & {"Ingress", "PodDisruptionBudget", "ServiceMonitor"}


def test_argo_external_pg_values(chart):
    objects = render(chart, ci_values(CHART_DIR / "ci" / "argo-external-pg-values.yaml"))
    assert only(objects, "Deployment", "-api")["spec"]["replicas"] == 3
    assert only(objects, "Deployment", "-worker")["spec"]["replicas"] == 2
    ingress = only(objects, "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": only(objects, "Service", f"{RELEASE}-marketplace")["metadata"]["name"],
                       "port": {"name": "http"}}
    pdb = only(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    assert of_kind(objects, "ServiceMonitor") == []
    assert ("argoproj.io", "workflows") in granted(only(objects, "Role", "-marketplace"))


def test_pdb_with_a_single_replica_only_when_asked(chart):
    objects = render(chart, {"postgresql": {"url": DB_URL}, "pdb": {"enabled": True}})
    assert only(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    objects = render(chart, {"postgresql": {"url": DB_URL}, "api": {"replicas": 2}})
    assert only(objects, "PodDisruptionBudget")


def test_service_monitor_scrapes_both_services(chart):
    objects = render(chart, {"postgresql": {"url": DB_URL},
                             "metrics": {"serviceMonitor": {"enabled": True}}})
    monitor = only(objects, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = [s for s in of_kind(objects, "Service")
                if selector.items() <= s["metadata"]["labels"].items()]
    assert {s["metadata"]["name"] for s in services} == {f"{RELEASE}-marketplace", f"{RELEASE}-marketplace-worker"}
    ports = {port["name"] for s in services for port in s["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == ports == {"http", "metrics"}
    assert all(e["path"] == "/metrics" for e in monitor["spec"]["endpoints"])


def test_notes_render(chart):
    notes = chart.render({"postgresql": {"url": DB_URL}}, name=RELEASE, namespace=NAMESPACE)
    text = notes["marketplace/templates/NOTES.txt"]
    assert "port-forward service/mkt-marketplace" in text
    assert "marketplace token --account" in text


# --- names --------------------------------------------------------------------------------------------

LONG_RELEASE_NAMES = [
    "a-release-name-of-fifty-three-characters-for-the-test",
    ("abcd-" * 11)[:52].rstrip("-"),
    ("ab-" * 18)[:53].rstrip("-"),
    "x" * 53,
]


@pytest.mark.parametrize("release", LONG_RELEASE_NAMES)
def test_names_fit_in_63_characters_with_a_long_release_name(chart, release):
    helm.validate_release_name(release)
    values = {**ci_values(CHART_DIR / "ci" / "argo-external-pg-values.yaml"),
              "metrics": {"serviceMonitor": {"enabled": True}}}
    objects = render(chart, values, name=release)
    seen: dict[str, set[str]] = {}
    for obj in objects:
        name = obj["metadata"]["name"]
        assert len(name) <= 63 and DNS_LABEL.match(name), f"{obj['kind']}: {name!r}"
        assert name not in seen.setdefault(obj["kind"], set()), f"two {obj['kind']}s named {name}"
        seen[obj["kind"]].add(name)
        for value in obj["metadata"]["labels"].values():
            assert len(str(value)) <= 63, value
    deployments = {o["metadata"]["name"] for o in of_kind(objects, "Deployment")}
    assert len(deployments) == 2


def test_fullname_override_is_cut_and_trimmed(chart):
    override = "a" * 62 + "-b"
    objects = render(chart, {"postgresql": {"url": DB_URL}, "fullnameOverride": override})
    assert only(objects, "ConfigMap")["metadata"]["name"] == "a" * 62
    assert only(objects, "Deployment", "-api")["metadata"]["name"] == "a" * 59 + "-api"
