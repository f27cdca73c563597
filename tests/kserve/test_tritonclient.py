"""The KServe v2 / Triton gRPC protocol of the real server, through the
official tritonclient[grpc]: readiness, metadata and configuration, unary
and streaming inference whose greedy text is switchyard.v1 Generate's, in
the tensor conventions of Triton's vLLM and TensorRT-LLM backends, clear
errors for bad tensors, and API keys."""

import json
import queue

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from conftest import API_KEY, generate

PROMPT = "The yard master walked the length of the platform"
TOKENS = 12
GREEDY = {"temperature": 0, "max_tokens": TOKENS, "ignore_eos": True}


def text_input(text, shape=(1,)):
    t = grpcclient.InferInput("text_input", list(shape), "BYTES")
    t.set_data_from_numpy(np.array([text.encode()], dtype=np.object_).reshape(shape))
    return t


def bytes_input(name, value):
    t = grpcclient.InferInput(name, [1], "BYTES")
    t.set_data_from_numpy(np.array([value.encode()], dtype=np.object_))
    return t


def bool_input(name, value):
    t = grpcclient.InferInput(name, [1], "BOOL")
    t.set_data_from_numpy(np.array([value], dtype=np.bool_))
    return t


def int32_input(name, value, shape=(1,)):
    t = grpcclient.InferInput(name, list(shape), "INT32")
    t.set_data_from_numpy(np.array([value], dtype=np.int32).reshape(shape))
    return t


def vllm_inputs(prompt=PROMPT, stream=False, **flags):
    """The vLLM backend's way: sampling_parameters as one JSON string."""
    inputs = [text_input(prompt), bytes_input("sampling_parameters", json.dumps(GREEDY)),
              bool_input("stream", stream)]
    inputs += [bool_input(name, value) for name, value in flags.items()]
    return inputs


def text(result):
    return b"".join(result.as_numpy("text_output").flatten()).decode()


def is_final(result):
    params = result.get_response().parameters
    return "triton_final_response" in params and params["triton_final_response"].bool_param


def stream(client, requests, timeout=30):
    """Sends every request on one stream; returns the results in order of
    arrival and the errors, once each request had its last response."""
    responses = queue.Queue()
    client.start_stream(callback=lambda result, error: responses.put((result, error)))
    try:
        for request in requests:
            client.async_stream_infer(**request)
        results, errors = [], []
        while len([r for r in results if is_final(r)]) + len(errors) < len(requests):
            result, error = responses.get(timeout=timeout)
            if error is not None:
                errors.append(error)
            else:
                results.append(result)
        return results, errors
    finally:
        client.stop_stream()


@pytest.fixture(scope="module")
def reference(server):
    return generate(server, PROMPT, TOKENS)


def test_liveness_readiness_and_model_readiness(client, server):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(server.model)
    assert client.is_model_ready(server.model, "1")
    assert not client.is_model_ready("no-such-model")
    assert not client.is_model_ready(server.model, "2")


def test_metadata_and_configuration(client, server):
    assert client.get_server_metadata().name == "switchyard"
    metadata = client.get_model_metadata(server.model, as_json=True)
    assert metadata["name"] == server.model
    assert metadata["versions"] == ["1"]
    inputs = {t["name"]: t for t in metadata["inputs"]}
    assert inputs["text_input"] == {"name": "text_input", "datatype": "BYTES", "shape": ["1"]}
    assert inputs["sampling_parameters"]["datatype"] == "BYTES"
    assert inputs["stream"]["datatype"] == "BOOL"
    assert inputs["max_tokens"]["datatype"] == "INT32"
    assert [t["name"] for t in metadata["outputs"]][0] == "text_output"
    config = client.get_model_config(server.model).config
    assert config.name == server.model
    assert config.max_batch_size == 0
    assert config.model_transaction_policy.decoupled
    optional = {i.name: i.optional for i in config.input}
    assert optional["text_input"] is False and optional["max_tokens"] is True
    with pytest.raises(InferenceServerException) as e:
        client.get_model_metadata("no-such-model")
    assert e.value.status() == "StatusCode.NOT_FOUND"


def test_unary_greedy_text_is_generates_text(client, server, reference):
    outputs = [grpcclient.InferRequestedOutput(n)
               for n in ("text_output", "finish_reason", "num_input_tokens", "num_output_tokens")]
    result = client.infer(server.model, vllm_inputs(exclude_input_in_output=True), outputs=outputs,
                          request_id="unary-1")
    assert text(result) == reference["text"]
    assert result.get_response().id == "unary-1"
    assert result.as_numpy("finish_reason").tolist() == [b"length"]
    assert result.as_numpy("num_input_tokens").tolist() == [reference["usage"]["prompt_tokens"]]
    assert result.as_numpy("num_output_tokens").tolist() == [TOKENS]
    # The vLLM backend's default: the prompt, then the completion.
    assert text(client.infer(server.model, vllm_inputs())) == PROMPT + reference["text"]


def test_tensorrt_llm_style_tensors_give_the_same_text(client, server, reference):
    inputs = [text_input(PROMPT, (1, 1)), int32_input("max_tokens", TOKENS, (1, 1)), int32_input("top_k", 1, (1, 1)),
              bool_input("ignore_eos", True), bool_input("exclude_input_in_output", True)]
    result = client.infer(server.model, inputs, outputs=[grpcclient.InferRequestedOutput("text_output")])
    assert result.as_numpy("text_output").shape == (1, 1)
    assert text(result) == reference["text"]


def test_request_parameters_give_the_same_text(client, server, reference):
    result = client.infer(server.model, [text_input(PROMPT), bool_input("exclude_input_in_output", True)],
                          parameters={"temperature": 0.0, "max_tokens": TOKENS, "ignore_eos": True})
    assert text(result) == reference["text"]


def test_streamed_deltas_add_up_to_generates_text(client, server, reference):
    request = dict(model_name=server.model, inputs=vllm_inputs(stream=True, return_finish_reason=True),
                   request_id="stream-1")
    results, errors = stream(client, [request])
    assert errors == []
    assert len(results) > 1, "one response per text delta"
    assert "".join(text(r) for r in results) == reference["text"]
    assert [is_final(r) for r in results] == [False] * (len(results) - 1) + [True]
    assert results[-1].as_numpy("finish_reason").tolist() == [b"length"]
    assert {r.get_response().id for r in results} == {"stream-1"}


def test_one_stream_carries_several_requests(client, server, reference):
    requests = [dict(model_name=server.model, inputs=vllm_inputs(stream=True), request_id="a"),
                dict(model_name=server.model, inputs=vllm_inputs(stream=True), request_id="b"),
                # not streamed: one response with the whole text, the prompt first
                dict(model_name=server.model, inputs=vllm_inputs(), request_id="whole",
                     enable_empty_final_response=True)]
    results, errors = stream(client, requests)
    assert errors == []
    by_id = {}
    for r in results:
        by_id.setdefault(r.get_response().id, []).append(r)
    assert "".join(text(r) for r in by_id["a"]) == reference["text"]
    assert "".join(text(r) for r in by_id["b"]) == reference["text"]
    assert [text(r) for r in by_id["whole"]] == [PROMPT + reference["text"]]


BAD_REQUESTS = [
    ("no text_input", dict(inputs=[int32_input("max_tokens", 4)]), "StatusCode.INVALID_ARGUMENT",
     'input "text_input" is missing; give the prompt as one BYTES element (shape [1])'),
    ("text_input not BYTES", dict(inputs=[int32_input("text_input", 4)]), "StatusCode.INVALID_ARGUMENT",
     'input "text_input" has datatype "INT32"; it must be BYTES'),
    ("two prompts", dict(inputs=[grpcclient.InferInput("text_input", [2], "BYTES").set_data_from_numpy(
        np.array([b"a", b"b"], dtype=np.object_))]), "StatusCode.INVALID_ARGUMENT",
     'input "text_input" has 2 elements; it must have exactly one (one prompt per request: no batching)'),
    ("bad JSON", dict(inputs=[text_input(PROMPT), bytes_input("sampling_parameters", "{temperature: 0}")]),
     "StatusCode.INVALID_ARGUMENT", 'input "sampling_parameters" is not valid JSON'),
    ("unknown option", dict(inputs=[text_input(PROMPT), bytes_input("sampling_parameters", '{"tempreature": 0}')]),
     "StatusCode.INVALID_ARGUMENT", '"sampling_parameters.tempreature" is not an option this server takes'),
    ("max_tokens not an integer", dict(inputs=[text_input(PROMPT), grpcclient.InferInput(
        "max_tokens", [1], "FP32").set_data_from_numpy(np.array([4.0], dtype=np.float32))]),
     "StatusCode.INVALID_ARGUMENT", 'input "max_tokens" has datatype "FP32"; it must be an integer type'),
    ("out of range", dict(inputs=[text_input(PROMPT), bytes_input("sampling_parameters", '{"top_p": 2}')]),
     "StatusCode.INVALID_ARGUMENT", "top_p must be in (0, 1], got 2"),
    ("stream in ModelInfer", dict(inputs=[text_input(PROMPT), bool_input("stream", True)]),
     "StatusCode.INVALID_ARGUMENT", "ModelInfer returns one response; stream with ModelStreamInfer"),
    ("unknown tensor", dict(inputs=[text_input(PROMPT), bytes_input("image", "x")]), "StatusCode.INVALID_ARGUMENT",
     'input "image" is not one this model takes'),
    ("unknown model", dict(model_name="no-such-model", inputs=[text_input(PROMPT)]), "StatusCode.NOT_FOUND",
     'model "no-such-model" is not served here'),
]


@pytest.mark.parametrize("name,request_args,status,message", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_clear_errors(client, server, name, request_args, status, message):
    args = {"model_name": server.model, **request_args}
    with pytest.raises(InferenceServerException) as e:
        client.infer(**args)
    assert e.value.status() == status
    assert message in e.value.message()


def test_a_bad_request_on_a_stream_is_an_error_and_the_stream_goes_on(client, server, reference):
    requests = [dict(model_name=server.model, inputs=[bytes_input("sampling_parameters", "{}")], request_id="bad"),
                dict(model_name=server.model, inputs=vllm_inputs(stream=True), request_id="good")]
    results, errors = stream(client, requests)
    assert [e.message() for e in errors] == [
        'input "text_input" is missing; give the prompt as one BYTES element (shape [1])']
    assert "".join(text(r) for r in results) == reference["text"]


def test_api_key_required_when_configured(keyed_server):
    with grpcclient.InferenceServerClient(keyed_server.address) as c:
        # Liveness and readiness are probes: no key, as grpc.health.v1.
        assert c.is_server_live()
        assert c.is_server_ready()
        for call in (lambda: c.is_model_ready(keyed_server.model), c.get_server_metadata,
                     lambda: c.infer(keyed_server.model, [text_input(PROMPT)])):
            with pytest.raises(InferenceServerException) as e:
                call()
            assert e.value.status() == "StatusCode.UNAUTHENTICATED"
        with pytest.raises(InferenceServerException) as e:
            c.infer(keyed_server.model, [text_input(PROMPT)], headers={"authorization": "Bearer wrong"})
        assert e.value.status() == "StatusCode.UNAUTHENTICATED"
        headers = {"authorization": f"Bearer {API_KEY}"}
        assert c.is_model_ready(keyed_server.model, headers=headers)
        result = c.infer(keyed_server.model, vllm_inputs(exclude_input_in_output=True), headers=headers)
        assert len(text(result)) > 0
        responses = queue.Queue()
        c.start_stream(callback=lambda result, error: responses.put((result, error)), headers=headers)
        c.async_stream_infer(keyed_server.model, vllm_inputs(stream=True))
        result, error = responses.get(timeout=30)
        c.stop_stream()
        assert error is None
