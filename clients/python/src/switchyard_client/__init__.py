"""Python client for the Switchyard gRPC inference server.

    from switchyard_client import Client

    with Client("127.0.0.1:50051") as client:
        result = client.generate("The yard master", max_tokens=16, temperature=0)
        print(result.text, result.finish_reason, result.usage)

`AsyncClient` is the same for asyncio. Failed calls raise the subclass of
`SwitchyardError` for their gRPC status code (`errors`).
"""

from switchyard_client._version import __version__
from switchyard_client.async_client import AsyncClient
from switchyard_client.client import Client
from switchyard_client.errors import (
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    SwitchyardError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
)
from switchyard_client.options import GenerateOptions, Keepalive, RetryPolicy, Tls
from switchyard_client.results import (
    ExpertLoad,
    FinishReason,
    GenerateResult,
    GenerationEnd,
    HealthStatus,
    LayerExpertLoad,
    ModelInfo,
    StreamChunk,
    Timings,
    TokenLogprob,
    TokenLogprobs,
    TokenRouting,
    Usage,
)
from switchyard_client.streams import AsyncGenerationStream, AsyncStream, GenerationStream, Stream

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "AsyncClient",
    "AsyncGenerationStream",
    "AsyncStream",
    "CancelledError",
    "Client",
    "DataLossError",
    "DeadlineExceededError",
    "ExpertLoad",
    "FailedPreconditionError",
    "FinishReason",
    "GenerateOptions",
    "GenerateResult",
    "GenerationEnd",
    "GenerationStream",
    "HealthStatus",
    "InternalError",
    "InvalidArgumentError",
    "Keepalive",
    "LayerExpertLoad",
    "ModelInfo",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "RetryPolicy",
    "Stream",
    "StreamChunk",
    "SwitchyardError",
    "Timings",
    "Tls",
    "TokenLogprob",
    "TokenLogprobs",
    "TokenRouting",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "Usage",
    "__version__",
]
