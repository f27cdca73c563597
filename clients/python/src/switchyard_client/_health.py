"""grpc.health.v1 through grpcio-health-checking's messages.

Its generated messages, not a second copy of health.proto: two copies
registered under one name would clash in protobuf's descriptor pool when a
program also imports grpc_health. The package ships no type information
(no py.typed), so its values are typed here, at the one place they enter.
"""

from __future__ import annotations

from grpc_health.v1 import health_pb2  # type: ignore[import-untyped]

from switchyard_client.results import HealthStatus

# Called with bytes in and out (no serializers), so that grpc's types and
# ours never meet the untyped messages.
METHOD = "/grpc.health.v1.Health/Check"


def serialize_request(service: str) -> bytes:
    data: bytes = health_pb2.HealthCheckRequest(service=service).SerializeToString()
    return data


def parse_response(data: bytes) -> HealthStatus:
    status: int = health_pb2.HealthCheckResponse.FromString(data).status
    try:
        return HealthStatus(status)
    except ValueError:  # a status a newer server defines
        return HealthStatus.UNKNOWN

