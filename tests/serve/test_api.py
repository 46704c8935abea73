"""The API's mapping of failures to answers: a full queue is a 503 with Retry-After, a
segmentation past its time is a 504 and is cancelled."""

import asyncio
import json

import pytest
from ray.serve.exceptions import BackPressureError

from porelab.serve import RequestError
from porelab.serve.api import BUSY_RETRY_S, _request_error, answer_within


class _Refused:
    """A DeploymentResponse that Serve refused: the model's replicas and queue are full."""

    def __await__(self):
        raise BackPressureError(num_queued_requests=2, max_queued_requests=2)
        yield  # pragma: no cover (makes this a generator, as __await__ must be)


def test_a_full_queue_is_a_json_503_with_retry_after():
    with pytest.raises(RequestError, match=r"queue is full \(max_queued_requests\)") as err:
        asyncio.run(answer_within(_Refused(), 5.0))
    response = asyncio.run(_request_error(None, err.value))
    assert response.status_code == 503 and response.headers["retry-after"] == str(BUSY_RETRY_S)
    assert json.loads(response.body)["error"]["status"] == 503


class _SlowResponse:
    """Stands in for a Serve DeploymentResponse: awaitable, cancellable."""

    def __init__(self, seconds):
        self.seconds, self.cancelled = seconds, False

    def __await__(self):
        return asyncio.sleep(self.seconds, "answer").__await__()

    def cancel(self):
        self.cancelled = True


def test_an_answer_in_time_is_returned_and_a_late_one_is_a_504_and_cancelled():
    assert asyncio.run(answer_within(_SlowResponse(0.01), 5.0)) == "answer"
    late = _SlowResponse(5.0)
    with pytest.raises(RequestError, match=r"longer than 0.05 s \(request_timeout_s\)") as err:
        asyncio.run(answer_within(late, 0.05))
    assert err.value.status == 504 and late.cancelled
