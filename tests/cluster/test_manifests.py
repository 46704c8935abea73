"""cluster/: every KubeRay manifest against KubeRay's `ray.io/v1` schemas with unknown fields
refused (a misspelt field fails), the `ray up` files against the installed Ray's
cluster-launcher schema plus its head-node-type rule, every entrypoint's script and flags, the
Ray version named everywhere, and the RayService's Serve config built into porelab's
application."""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml
from packaging.specifiers import SpecifierSet
from ray.serve import Application
from ray.serve.schema import ServeDeploySchema

from porelab.bundled import bundled_root
from porelab.errors import ConfigError
from porelab.serve.app import app_builder

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "cluster"
KUBERAY_SCHEMAS = REPO.parent / "shared" / "schemas" / "kuberay-v1"
KUBERAY = sorted((CLUSTER / "kuberay").glob("ray*.yaml"))
RAY_UP = sorted((CLUSTER / "ray-up").glob("*.yaml"))
IMAGE_RAY = re.compile(r"ray(\d+\.\d+\.\d+)")


def _strict(schema):
    """The schema with `additionalProperties: false` on every object that lists `properties`
    (what kubectl and kubeconform do: the CRDs leave it open)."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def _kuberay_validator(kind):
    path = KUBERAY_SCHEMAS / f"{kind}.json"
    if not path.is_file():
        pytest.skip(f"KubeRay schemas not found at {KUBERAY_SCHEMAS} (needs ../shared beside the checkout)")
    return jsonschema.Draft7Validator(_strict(json.loads(path.read_text())))


def _load(path):
    return yaml.safe_load(path.read_text())


def _errors(manifest):
    validator = _kuberay_validator(manifest["kind"])
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def test_the_cluster_folder_holds_every_manifest():
    names = {p.relative_to(CLUSTER).as_posix() for p in CLUSTER.rglob("*") if p.is_file()}
    assert {
        "README.md",
        "Dockerfile",
        "kuberay/raycluster.yaml",
        "kuberay/rayjob-cv.yaml",
        "kuberay/rayjob-simulate.yaml",
        "kuberay/rayservice.yaml",
        "kuberay/shared-storage.yaml",
        "ray-up/aws-gpu.yaml",
        "ray-up/local.yaml",
    } <= names


@pytest.mark.parametrize("path", KUBERAY, ids=lambda p: p.name)
def test_kuberay_manifests_match_the_crd_schemas(path):
    manifest = _load(path)
    assert manifest["apiVersion"] == "ray.io/v1"
    assert _errors(manifest) == []


@pytest.mark.parametrize(
    "field, where",
    [
        ("shutdownAfterJobFinish", ("spec",)),  # a letter short
        ("minReplica", ("spec", "rayClusterSpec", "workerGroupSpecs", 0)),
        ("tolerations", ("spec", "rayClusterSpec", "headGroupSpec")),  # in the wrong place
    ],
)
def test_a_misspelt_or_misplaced_field_fails(field, where):
    manifest = _load(CLUSTER / "kuberay" / "rayjob-cv.yaml")
    node = manifest
    for key in where:
        node = node[key]
    node[field] = node.get(field, 1)
    assert any(field in error for error in _errors(manifest))


def test_gpu_workers_ask_for_gpus_and_tolerate_their_taint():
    for path in (
        CLUSTER / "kuberay" / "raycluster.yaml",
        CLUSTER / "kuberay" / "rayjob-cv.yaml",
        CLUSTER / "kuberay" / "rayservice.yaml",
    ):
        spec = _load(path)["spec"]
        cluster = spec.get("rayClusterSpec") or spec.get("rayClusterConfig") or spec
        gpu = next(g for g in cluster["workerGroupSpecs"] if g["groupName"] == "gpu")
        pod = gpu["template"]["spec"]
        assert all(c["resources"]["limits"]["nvidia.com/gpu"] for c in pod["containers"]), path.name
        assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"]), path.name
        assert cluster["enableInTreeAutoscaling"] is True


def test_jobs_delete_their_cluster_when_they_end():
    for name in ("rayjob-cv.yaml", "rayjob-simulate.yaml"):
        spec = _load(CLUSTER / "kuberay" / name)["spec"]
        assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
        assert spec["submissionMode"] in ("K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode")
    assert "--profile paper" in _load(CLUSTER / "kuberay" / "rayjob-cv.yaml")["spec"]["entrypoint"]


def _entrypoint_commands():
    commands = [
        _load(CLUSTER / "kuberay" / name)["spec"]["entrypoint"] for name in ("rayjob-cv.yaml", "rayjob-simulate.yaml")
    ]
    readme = (CLUSTER / "README.md").read_text().replace("\\\n", " ")  # continuation lines joined
    commands += [" ".join(line.split()) for line in re.findall(r"ray job submit .*? --\s+(python .*)", readme)]
    return commands


@pytest.mark.parametrize("command", _entrypoint_commands())
def test_every_entrypoint_names_a_script_and_flags_it_has(command):
    words = shlex.split(command.split("&&")[-1])
    if words[0] == "python":
        script = (
            REPO / Path(words[1]).relative_to("/opt/porelab")
            if words[1].startswith("/opt/porelab")
            else REPO / words[1]
        )
        assert script.is_file(), script
        run, flags = [sys.executable, str(script), "--help"], [w for w in words[2:] if w.startswith("--")]
    else:
        assert words[0] == "porelab"
        run, flags = (
            [str(Path(sys.executable).parent / "porelab"), words[1], "--help"],
            [w for w in words[2:] if w.startswith("--")],
        )
    helped = subprocess.run(run, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert helped.returncode == 0, helped.stderr[-2000:]
    missing = [f for f in flags if f not in helped.stdout]
    assert not missing, f"{command}: flags {missing} not in --help"


def _ray_up_validate(config):
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    jsonschema.Draft7Validator(schema).validate(config)
    if config["provider"]["type"] == "local":
        # Ray's local provider makes its own node type and refuses a config that names one
        assert "available_node_types" not in config and "head_node_type" not in config
        assert config["provider"]["worker_ips"] and config["provider"]["head_ip"]
    else:
        assert config["head_node_type"] in config["available_node_types"]


@pytest.mark.parametrize("path", RAY_UP, ids=lambda p: p.name)
def test_ray_up_files_match_the_cluster_launcher_schema(path):
    _ray_up_validate(_load(path))


def test_a_ray_up_typo_or_unknown_head_type_fails():
    config = _load(CLUSTER / "ray-up" / "aws-gpu.yaml")
    typo = {**config, "idle_timeout_minute": 5}
    with pytest.raises(jsonschema.ValidationError, match="idle_timeout_minute"):
        _ray_up_validate(typo)
    with pytest.raises(AssertionError):
        _ray_up_validate({**config, "head_node_type": "headnode"})


def _images():
    images = []
    for path in KUBERAY + RAY_UP:
        images += re.findall(r"image:\s*(\S+)", path.read_text())
    return images


def test_ray_versions_agree_with_the_installed_and_allowed_ray():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    installed = ray.__version__
    allowed = next(
        d
        for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
        if d.startswith("ray[")
    )
    assert installed in SpecifierSet(allowed.split("]", 1)[1])
    versions = {
        _load(p)["spec"].get("rayVersion")
        or (_load(p)["spec"].get("rayClusterSpec") or _load(p)["spec"].get("rayClusterConfig"))["rayVersion"]
        for p in KUBERAY
    }
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    versions |= set(re.findall(r"ARG RAY_VERSION=(\S+)", dockerfile))
    versions |= {IMAGE_RAY.search(image).group(1) for image in _images()}
    assert "FROM rayproject/ray:${RAY_VERSION}" in dockerfile
    assert versions == {installed}


def _serve_config():
    return yaml.safe_load(_load(CLUSTER / "kuberay" / "rayservice.yaml")["spec"]["serveConfigV2"])


def test_the_rayservice_config_builds_porelabs_application():
    config = (
        ServeDeploySchema.model_validate(_serve_config())
        if hasattr(ServeDeploySchema, "model_validate")
        else ServeDeploySchema.parse_obj(_serve_config())
    )
    (app,) = config.applications
    module, name = app.import_path.split(":")
    assert (module, name) == ("porelab.serve.app", "app_builder")
    args = {**app.args, "registry": str(bundled_root()), "results_dir": "/tmp/porelab-serve-test"}
    built = app_builder(args)
    assert isinstance(built, Application)


def test_the_application_builder_names_a_wrong_arg():
    with pytest.raises(ConfigError, match="registy"):
        app_builder({"registy": str(bundled_root())})
    with pytest.raises(ConfigError, match="replicas"):
        app_builder({"registry": str(bundled_root()), "replicas": "two"})
