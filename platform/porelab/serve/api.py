"""The HTTP API (FastAPI, mounted as the Serve ingress): versioned /v1 routes, JSON errors.

GET  /v1/health                      open even with a token (liveness; /v1/health/live the same)
GET  /v1/health/ready                200 when the models are up and uploads are taken, 503 while draining
GET  /v1/models                      name, version, metrics, threshold, input expectations
POST /v1/models/{name}/segment       body: .npy or TIFF bytes; ?voxel_size=&threshold=
GET  /v1/results/{id}/mask?format=npy|tiff   and   /v1/results/{id}/score?format=npy|tiff
"""

from __future__ import annotations

import asyncio
import hmac
import io
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from porelab.errors import PorelabError
from porelab.serve.errors import RequestError

API_VERSION = "v1"

app = FastAPI(
    title="porelab",
    version="1",
    description="Segment pores in CT volumes with the models of a porelab registry and say when a scan "
    'is unlike the training data. Errors are JSON: {"error": {"status", "message"}}.',
)


def _error(status: int, message: str, retry_after_s: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status, headers=headers)


@app.exception_handler(RequestError)
async def _request_error(_: Request, err: RequestError) -> JSONResponse:
    return _error(err.status, err.message, err.retry_after_s)


@app.exception_handler(StarletteHTTPException)
async def _http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
    return _error(err.status_code, str(err.detail))


@app.exception_handler(PorelabError)
async def _input_error(_: Request, err: PorelabError) -> JSONResponse:
    """Bad input found by the library inside a model replica (unreadable volume, bad setting)."""
    return _error(422, str(err).splitlines()[-1] if str(err) else type(err).__name__)


@app.exception_handler(Exception)
async def _server_error(_: Request, err: Exception) -> JSONResponse:
    """A failure of one request (a replica that died, a bug): 503/500 as JSON; the service stays up."""
    from ray.exceptions import ActorDiedError, ActorUnavailableError

    if isinstance(err, (ActorDiedError, ActorUnavailableError)):
        return _error(503, f"model replica unavailable ({type(err).__name__}); retry shortly")
    return _error(500, f"internal error: {type(err).__name__}: {str(err).splitlines()[-1] if str(err) else ''}")


@app.exception_handler(RequestValidationError)
async def _validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
    return _error(422, problems)


def _require_token(request: Request) -> None:
    """Bearer-token check (constant-time compare) when the service was started with a token."""
    token = _state.token
    if token is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise RequestError("missing or wrong bearer token; expected header 'Authorization: Bearer <token>'", 401)


def _as_format(path: Path, fmt: str) -> Response:
    from porelab import volume

    if fmt not in ("npy", "tiff"):
        raise RequestError(f"format {fmt!r}; expected 'npy' or 'tiff'", 422)
    data = volume.read(path).to_numpy()
    buffer = io.BytesIO()
    if fmt == "npy":
        np.save(buffer, data)
        return Response(buffer.getvalue(), media_type="application/octet-stream")
    import tifffile

    tifffile.imwrite(buffer, data)
    return Response(buffer.getvalue(), media_type="image/tiff")


_DRAINING_RETRY_S = 10
#: Retry-After of a 503 for a full queue: about the time a replica takes for a 128^3 volume.
BUSY_RETRY_S = 5


async def answer_within(response: Any, timeout_s: float) -> Any:
    """The awaited `response` of a model deployment; 503 with Retry-After when Serve refuses it
    because the model's replicas and queue are full (`max_queued_requests`: caught here, as Serve's
    own answer would be plain text without a retry time); 504 once `timeout_s` pass (the request is
    cancelled: a replica that has not started it drops it)."""
    from ray.serve.exceptions import BackPressureError

    task = asyncio.ensure_future(response)
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout_s)
    except BackPressureError:
        raise RequestError(
            f"the model's replicas are busy and its queue is full (max_queued_requests); retry in {BUSY_RETRY_S} s",
            503,
            retry_after_s=BUSY_RETRY_S,
        ) from None
    except asyncio.TimeoutError:
        cancel = getattr(response, "cancel", None)
        if cancel is not None:
            cancel()
        task.cancel()
        raise RequestError(
            f"segmentation took longer than {timeout_s:g} s (request_timeout_s) and was cancelled; "
            "send a smaller volume, or retry when the service is less busy",
            504,
        ) from None


class _Service:
    """The state behind the routes: registry description, model handles, result store, limits,
    and the lifecycle: how many uploads are in flight, whether new ones are still taken."""

    def __init__(self, models: dict[str, Any], handles: dict[str, Any], store: Any, config: Any) -> None:
        self.models, self.handles, self.store, self.config = models, handles, store, config
        self.in_flight = 0
        self.draining = False

    def refuse_when_draining(self) -> None:
        if self.draining:
            raise RequestError(
                "the service is shutting down and takes no new uploads; retry on another instance or after it restarts",
                503,
                retry_after_s=_DRAINING_RETRY_S,
            )

    def handle(self, name: str) -> Any:
        if name not in self.handles:
            raise RequestError(f"unknown model {name!r}; expected one of {', '.join(sorted(self.handles))}", 404)
        return self.handles[name]

    async def segment(
        self, name: str, request: Request, voxel_size: float | None, threshold: float | None
    ) -> dict[str, Any]:
        from porelab.serve.payload import (
            check_content_encoding,
            check_content_length,
            parse_in_memory,
            prepare_input,
            spool,
        )

        self.refuse_when_draining()
        handle = self.handle(name)
        check_content_encoding(request.headers.get("content-encoding"))
        check_content_length(request.headers.get("content-length"), self.config.max_body_bytes)
        declared = request.headers.get("content-length")
        result_id, folder = self.store.new()
        self.in_flight += 1
        try:
            if declared is not None and int(declared) <= self.config.in_memory_max_bytes:
                upload = await asyncio.to_thread(
                    parse_in_memory, await request.body(), self.config.min_size, self.config.max_voxels
                )
            else:
                body = await spool(request.stream(), folder / "body.bin", self.config.max_body_bytes)
                path, _ = await asyncio.to_thread(
                    prepare_input, body, folder, self.config.min_size, voxel_size, self.config.max_voxels
                )
                upload = str(path)
            answer = await answer_within(
                handle.segment.remote(upload, str(folder), threshold, voxel_size), self.config.request_timeout_s
            )
        except BaseException:
            self.store.discard(result_id)
            raise
        finally:
            self.in_flight -= 1
        self.store.finish(result_id)
        return {
            "id": result_id,
            **answer,
            "results": {kind: f"/{API_VERSION}/results/{result_id}/{kind}" for kind in ("mask", "score")},
            "expires_in_s": self.config.result_ttl_s,
        }


class _State:
    """What `attach` gives the routes. Module-level, not `app.state`: Serve pickles the FastAPI
    app into the ingress replica, so the routes' `request.app` is a copy of this module's `app`."""

    service: _Service
    token: str | None = None


_state = _State()


def _service(_: Request) -> _Service:
    return _state.service


@app.get("/v1/health")
@app.get("/v1/health/live")
async def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", "models": sorted(_service(request).handles)}


@app.get("/v1/health/ready")
async def ready(request: Request) -> dict[str, Any]:
    """Readiness (a Kubernetes readinessProbe): the ingress answers only once Serve has started
    every model deployment; while draining, 503 so that no new traffic is routed here."""
    service = _service(request)
    service.refuse_when_draining()
    return {"status": "ready", "models": sorted(service.handles), "in_flight": service.in_flight}


def drain() -> int:
    """Take no new uploads from now on; the number still in flight."""
    _state.service.draining = True
    return _state.service.in_flight


def in_flight() -> int:
    return _state.service.in_flight


@app.get("/v1/models", dependencies=[Depends(_require_token)])
async def models(request: Request) -> dict[str, Any]:
    return {"models": [m.describe() for m in _service(request).models.values()]}


@app.post(
    "/v1/models/{name}/segment",
    dependencies=[Depends(_require_token)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def segment(
    name: str,
    request: Request,
    voxel_size: float | None = Query(None, gt=0, description="voxel size in mm (isotropic)"),
    threshold: float | None = Query(None, description="score threshold (default: the model's)"),
) -> dict[str, Any]:
    return await _service(request).segment(name, request, voxel_size, threshold)


@app.get("/v1/results/{result_id}/{kind}", dependencies=[Depends(_require_token)])
async def result(
    result_id: str, kind: str, request: Request, fmt: str = Query("npy", alias="format", description="npy or tiff")
) -> Response:
    path = _service(request).store.file(result_id, kind)
    return await asyncio.to_thread(_as_format, path, fmt)


def attach(models: dict[str, Any], handles: dict[str, Any], store: Any, config: Any, token: str | None) -> None:
    """Give the routes their state (called once in the ingress replica)."""
    _state.service = _Service(models, handles, store, config)
    _state.token = token
