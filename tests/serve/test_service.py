"""The HTTP service end to end on loopback: segment, compare with `predict`, batching of
concurrent small volumes, bad input, OOD (raster check and a registry's ood.pt), bearer token,
result download, and a killed replica. One Serve start for the module."""

import io
import json
import socket
import threading
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest
import tifffile

from porelab import volume
from porelab.infer.predict import PredictConfig, predict
from porelab.ood.synthetic import raster
from porelab.serve import BatchConfig, DeploymentConfig, ServeConfig, start

from synthetic import composite_scan, in_air, sphere_scan, unseen_am_scan

pytestmark = [pytest.mark.ray, pytest.mark.slow]
TOKEN = "test-token-0123456789abcdef"
MAX_BODY = 4 * 1024**2
# volumes up to 32^3 are batched (two windows of the 16^3 model per axis); a batch waits long
# enough for concurrent test clients on a busy 2-core machine, and is full at 4 volumes
BATCHING = BatchConfig(max_batch_size=4, batch_wait_timeout_s=0.5, max_voxels=32**3)


#: 32^3 float32 uploads (131,200 bytes) go through memory, 40 x 32 x 32 ones (163,968) through a file.
IN_MEMORY_MAX = 150_000


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def service(ray_session, registry, tmp_path_factory):
    from ray import serve

    tmp = tmp_path_factory.mktemp("service")
    (tmp / "token").write_text(TOKEN + "\n")
    config = ServeConfig(
        registry=registry,
        port=_free_port(),
        token_file=tmp / "token",
        max_body_bytes=MAX_BODY,
        results_dir=tmp / "results",
        result_ttl_s=600,
        in_memory_max_bytes=IN_MEMORY_MAX,
        deployment=DeploymentConfig(batching=BATCHING),
    )
    urls = start(config)
    yield urls["url"]
    serve.shutdown()


def call(base, path, body=None, token=TOKEN, headers=None):
    """(status, parsed JSON or raw bytes) for one request; errors are answers too."""
    request = urllib.request.Request(
        base + path,
        data=body,
        method="POST" if body is not None else "GET",
        headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            status, raw, kind = reply.status, reply.read(), reply.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        status, raw, kind = err.code, err.read(), err.headers.get("content-type", "")
    return status, json.loads(raw) if kind.startswith("application/json") else raw


def _scan(seed=5, shape=(32, 32, 32)):
    return in_air(sphere_scan(shape, [(10, 10, 12), (22, 21, 20)], 4, seed=seed)[0], seed=seed)


def _predicted(model, scan, folder, voxel_size=1.0):
    """(summary, pore table) of `predict` on `scan`: what the service must answer."""
    folder.mkdir(exist_ok=True)
    volume.write(scan, folder / "scan.npy", voxel_size=voxel_size)
    summary = predict(model, folder / "scan.npy", folder / "out", PredictConfig(max_memory=2**30))
    return summary, pd.read_parquet(folder / "out" / "pores.parquet")


def test_health_is_open_and_models_need_the_token(service):
    assert call(service, "/v1/health", token=None) == (
        200,
        {"status": "ok", "models": ["ood-unet", "porelab-am", "unet"]},
    )
    status, body = call(service, "/v1/models", token=None)
    assert status == 401 and "bearer token" in body["error"]["message"]
    assert call(service, "/v1/models", token="wrong-token-0123456789")[0] == 401
    status, body = call(service, "/v1/models")
    models = {m["name"]: m for m in body["models"]}
    model = models["unet"]
    assert status == 200 and model["threshold"] == 0.5 and model["ood_detector"] == "raster-spectrum"
    assert model["metrics"]["validation/ap"]["mean"] == 0.9 and "CT volume" in model["input"]
    assert models["ood-unet"]["ood_detector"] == "autoencoder"
    schema = call(service, "/openapi.json", token=None)[1]
    assert "/v1/models/{name}/segment" in schema["paths"]


@pytest.mark.parametrize(
    "shape, upload", [((32, 32, 32), "in memory"), ((40, 32, 32), "file")], ids=["batched", "out-of-core"]
)
def test_segment_returns_the_pore_table_predict_writes(service, registry, tmp_path, shape, upload):
    scan = _scan(shape=shape)
    status, body = call(service, "/v1/models/unet/segment?voxel_size=0.02", _npy(scan))
    assert status == 200, body
    assert body["upload"] == upload
    summary, expected = _predicted(registry / "unet", scan, tmp_path, voxel_size=0.02)
    served = pd.DataFrame.from_records(body["pores"], columns=expected.columns)
    assert body["pore_count"] == summary["pore_count"] == len(expected) == 2
    pd.testing.assert_frame_equal(served, expected, check_dtype=False, atol=1e-9)
    assert body["porosity_percent"] == pytest.approx(summary["porosity_percent"])
    assert body["voxel_size_mm_zyx"] == pytest.approx([0.02] * 3) and body["timings"]["segment_s"] > 0
    assert body["ood"]["is_ood"] is False and body["timings"]["batch_size"] == 1

    status, mask = call(service, f"/v1/results/{body['id']}/mask?format=npy")
    np.testing.assert_array_equal(np.load(io.BytesIO(mask)), tifffile.imread(tmp_path / "out" / "mask.tif"))
    status, score = call(service, f"/v1/results/{body['id']}/score?format=tiff")
    np.testing.assert_allclose(tifffile.imread(io.BytesIO(score)), np.load(tmp_path / "out" / "score.npy"), atol=1e-5)


def _post_together(base, bodies):
    """Answers to `bodies` posted by one thread each, released at once."""
    answers, start = [None] * len(bodies), threading.Barrier(len(bodies))

    def client(i):
        start.wait()
        answers[i] = call(base, "/v1/models/unet/segment", bodies[i])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_small_volumes_share_forward_passes_and_get_their_own_pores(service, registry, tmp_path):
    shapes = [(32, 32, 32), (24, 32, 28), (32, 20, 32), (16, 26, 24)]  # shapes differ within a batch
    scans = [
        sphere_scan(shape, [tuple(n // 3 for n in shape), tuple(2 * n // 3 for n in shape)], 4, seed=20 + i)[0]
        for i, shape in enumerate(shapes)
    ]
    answers = _post_together(service, [_npy(scan) for scan in scans])
    assert [status for status, _ in answers] == [200] * len(scans), answers
    assert max(body["timings"]["batch_size"] for _, body in answers) > 1
    for i, (scan, (_, body)) in enumerate(zip(scans, answers)):
        summary, expected = _predicted(registry / "unet", scan, tmp_path / str(i))
        served = pd.DataFrame.from_records(body["pores"], columns=expected.columns)
        assert body["shape_zyx"] == list(scan.shape) and body["pore_count"] == summary["pore_count"] >= 1
        pd.testing.assert_frame_equal(served, expected, check_dtype=False, atol=1e-9)


def test_a_tiff_body_is_segmented_like_the_npy(service):
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, _scan())
    status, body = call(service, "/v1/models/unet/segment", buffer.getvalue())
    assert status == 200 and body["pore_count"] == 2


def test_a_raster_pattern_volume_is_out_of_distribution(service):
    scan = _scan(seed=9)
    pattern = raster(scan.shape[1:], np.random.default_rng(3))
    status, body = call(service, "/v1/models/unet/segment", _npy(scan + 200 * pattern[None]))
    assert status == 200 and body["ood"]["is_ood"] is True and body["ood"]["score"] > 1


def test_the_registry_ood_detector_judges_uploads(service):
    """ood-unet/ood.pt: an autoencoder fitted on slices of scans like the training data."""
    scan = _scan(seed=5)
    pattern = raster(scan.shape[1:], np.random.default_rng(5))
    status, like = call(service, "/v1/models/ood-unet/segment", _npy(scan))
    assert status == 200 and like["ood"]["method"] == "autoencoder"
    assert like["ood"]["is_ood"] is False and like["ood"]["score"] < 1
    status, odd = call(service, "/v1/models/ood-unet/segment", _npy(scan + 500 * pattern[None]))
    assert status == 200 and odd["ood"]["method"] == "autoencoder"
    assert odd["ood"]["is_ood"] is True and odd["ood"]["score"] > 1.3 and odd["ood"]["flagged_cells"] > 0


def test_an_am_model_judges_an_am_scan_and_flags_a_composite_block(service):
    """The bundled AM detector as served: an AM scan it never saw is in distribution, a block of
    glass-fibre PA66 (no air around it: it fills the field of view) is not."""
    status, like = call(service, "/v1/models/porelab-am/segment?voxel_size=0.1", _npy(unseen_am_scan()[0]))
    assert status == 200 and like["ood"]["method"] == "autoencoder"
    assert like["ood"]["is_ood"] is False and like["ood"]["reasons"] == [] and like["pore_count"] > 0
    status, odd = call(service, "/v1/models/porelab-am/segment?voxel_size=0.1", _npy(composite_scan()))
    assert status == 200 and odd["ood"]["is_ood"] is True and odd["ood"]["truncated_sides"]
    assert any(reason.startswith("truncated") for reason in odd["ood"]["reasons"])


@pytest.mark.parametrize(
    "path, payload, status, message",
    [
        ("/v1/models/nope/segment", _npy(np.zeros((16, 16, 16), np.float32)), 404, "unknown model 'nope'"),
        ("/v1/models/unet/segment", _npy(np.zeros((16, 16, 16), np.complex64)), 422, "dtype complex64"),
        ("/v1/models/unet/segment", _npy(np.zeros((32, 32), np.float32)), 422, "expected a 3-D volume"),
        ("/v1/models/unet/segment", _npy(np.zeros(4096, np.float32)), 422, "has 1 dimensions"),
        ("/v1/models/unet/segment", _npy(np.zeros((2, 16, 16, 16), np.float32)), 422, "has 4 dimensions"),
        ("/v1/models/unet/segment", _npy(np.zeros((16, 16, 16), bool)), 422, "dtype bool"),
        ("/v1/models/unet/segment", _npy(np.zeros((4, 32, 32), np.float32)), 422, "too small"),
        ("/v1/models/unet/segment", _npy(np.full((16, 16, 16), np.nan, np.float32)), 422, "NaN"),
        ("/v1/models/unet/segment", _npy(np.zeros((16, 16, 16), np.float32))[:200], 400, "corrupted npy"),
        ("/v1/models/unet/segment", b"not a volume at all", 415, "expected a .npy file"),
        ("/v1/models/unet/segment?voxel_size=-1", _npy(np.zeros((16, 16, 16), np.float32)), 422, "voxel_size"),
        ("/v1/results/" + "0" * 32 + "/mask", None, 404, "not found"),
    ],
)
def test_bad_requests_get_a_json_4xx_naming_the_problem(service, path, payload, status, message):
    answer = call(service, path, payload)
    assert answer[0] == status and message in answer[1]["error"]["message"]


def test_an_encoded_body_is_refused_naming_the_encoding(service):
    import gzip

    body = gzip.compress(_npy(np.zeros((16, 16, 16), np.float32)))
    status, answer = call(service, "/v1/models/unet/segment", body, headers={"Content-Encoding": "gzip"})
    assert status == 415 and "Content-Encoding 'gzip' is not supported" in answer["error"]["message"]


def test_a_body_over_the_limit_is_refused_from_its_content_length(service):
    status, body = call(service, "/v1/models/unet/segment", b"\x93NUMPY" + bytes(MAX_BODY))
    assert status == 413 and "over the limit" in body["error"]["message"]


def _replica_names(ray):
    return [
        (a["name"], a["namespace"])
        for a in ray.util.list_named_actors(all_namespaces=True)
        if "SERVE_REPLICA" in a["name"] and "model-unet" in a["name"]
    ]


def test_a_killed_replica_is_replaced_and_later_requests_succeed(service, ray_session):
    import time

    ray = ray_session
    body = _npy(_scan())
    during = []
    clients = [
        threading.Thread(target=lambda: during.append(call(service, "/v1/models/unet/segment", body)[0]))
        for _ in range(3)
    ]
    for client in clients:
        client.start()
    ((name, namespace),) = _replica_names(ray)
    ray.kill(ray.get_actor(name, namespace=namespace), no_restart=True)
    for client in clients:
        client.join()
    assert set(during) <= {200, 500, 503}  # in-flight requests may fail, as JSON, without taking the service down
    deadline = time.monotonic() + 90
    while call(service, "/v1/models/unet/segment", body)[0] != 200:
        assert time.monotonic() < deadline, "the replica was not replaced within 90 s"
        time.sleep(1)
    assert [call(service, "/v1/models/unet/segment", body)[0] for _ in range(3)] == [200] * 3
    assert _replica_names(ray) and _replica_names(ray)[0][0] != name
