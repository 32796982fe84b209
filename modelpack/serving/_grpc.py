"""The Open Inference Protocol over gRPC: ``inference.GRPCInferenceService`` with grpcio.

The servicer answers health, metadata and infer calls for whatever models a lookup callable
``(name, version) -> Served or PyFuncModel`` finds (the scoring app's model table), so it serves
what the HTTP endpoints serve, and reports the version it serves (a model served from an alias
answers with the version the alias named when it loaded). A version asked for that is not the
one served is NOT_FOUND, as on REST; a malformed request (a tensor whose contents disagree
with its shape, an unknown datatype or input) is INVALID_ARGUMENT, with the reason as details. Tensors are read and written by ``_tensors`` and turned into ``predict``
input by ``_v2.build_inputs``: the same checks and limits as the REST endpoints. An infer
request whose inputs come as ``raw_input_contents`` is answered with ``raw_output_contents``
(what Triton's clients send and expect); one with typed ``contents`` gets typed contents back.

The server runs on its own threads beside the HTTP server's event loop, in the same process
(in each worker, with ``--workers``: they share the port, the kernel spreads connections).
Every call is counted in the app's ``/metrics`` (``protocol="grpc"``, see ``_metrics``).
grpcio comes with the ``grpc`` extra; nothing here imports it until a server starts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from modelpack._version import __version__
from modelpack.serving import _tensors, _v2
from modelpack.serving._batching import run_one
from modelpack.serving._errors import HTTPError, model_error
from modelpack.serving._limits import DEFAULT_MAX_CELLS
from modelpack.serving._repository import Served

if TYPE_CHECKING:
    import numpy as np

    from modelpack.pyfunc import PyFuncModel
    from modelpack.serving._metrics import Metrics

__all__ = ["Lookup", "Servicer", "check_available", "start_for_app", "start_server"]

log = logging.getLogger("modelpack.serving")

#: finds the model served as ``name`` (``version``: None for any); raises LookupError if none.
#: A :class:`Served` (a model table's answer) also says the version served.
Lookup = Callable[[str, "str | None"], "Served | PyFuncModel"]
_SERVICE = "/inference.GRPCInferenceService/"

#: the typed-contents field of each datatype (FP16 has none: it travels raw)
_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_THREADS = 4
_MAX_CALLS = 64


def check_available() -> None:
    """Raise MissingDependencyError naming the ``grpc`` extra when grpcio is not installed."""
    from modelpack._optional import require

    require("grpc", "grpc", purpose="serving the Open Inference Protocol over gRPC")


def _messages() -> Any:
    check_available()
    from modelpack.serving.proto import grpc_predict_v2_pb2

    return grpc_predict_v2_pb2


def _status(e: HTTPError) -> Any:
    import grpc

    code = {
        400: grpc.StatusCode.INVALID_ARGUMENT,
        404: grpc.StatusCode.NOT_FOUND,
        413: grpc.StatusCode.RESOURCE_EXHAUSTED,
        500: grpc.StatusCode.INTERNAL,
    }
    return code.get(e.status, grpc.StatusCode.UNKNOWN if e.status >= 500 else code[400])


def _failure(e: Exception) -> tuple[Any, str]:
    """The gRPC status and details answering a call that raised ``e``."""
    import grpc

    if isinstance(e, HTTPError):
        return _status(e), e.message
    if isinstance(e, LookupError):
        return grpc.StatusCode.NOT_FOUND, str(e)
    if isinstance(e, RecursionError):
        return grpc.StatusCode.INVALID_ARGUMENT, "the request is nested too deeply"
    log.error("internal error while answering a gRPC call", exc_info=e)
    return grpc.StatusCode.INTERNAL, "internal server error; see the server log"


class Servicer:
    """The six calls of ``inference.GRPCInferenceService`` over a model lookup; each call is
    counted in ``metrics`` when given."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        max_cells: int = DEFAULT_MAX_CELLS,
        metrics: Metrics | None = None,
    ) -> None:
        self.lookup = lookup
        self.max_cells = max_cells
        self.metrics = metrics
        self.pb = _messages()

    # ------------------------------------------------------------------ plumbing
    def _call(self, context: Any, method: str, answer: Callable[[], Any]) -> Any:
        """``answer()``, counted; an exception becomes the matching gRPC status."""
        started = time.perf_counter()
        try:
            result = answer()
        except Exception as e:
            code, details = _failure(e)
        else:
            self._observe(method, "OK", started)
            return result
        self._observe(method, code.name, started)
        context.abort(code, details)  # raises: grpcio ends the call with this status

    def _observe(self, method: str, code: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.observe_grpc(_SERVICE + method, code, time.perf_counter() - started)

    def _served(self, name: str, version: str) -> tuple[PyFuncModel, str | None]:
        """The model served as ``name`` and the version it is (None when unversioned)."""
        found = self.lookup(name, version or None)
        if isinstance(found, Served):
            return found.model, found.version
        return found, version or None

    # ------------------------------------------------------------------ health, metadata
    # (method names are the protocol's)
    def ServerLive(self, request: Any, context: Any) -> Any:
        return self._call(context, "ServerLive", lambda: self.pb.ServerLiveResponse(live=True))

    def ServerReady(self, request: Any, context: Any) -> Any:
        return self._call(context, "ServerReady", lambda: self.pb.ServerReadyResponse(ready=True))

    def ModelReady(self, request: Any, context: Any) -> Any:
        def answer() -> Any:
            try:
                self._served(request.name, request.version)
            except LookupError:  # not served (or not that version): the answer is "not ready"
                return self.pb.ModelReadyResponse(ready=False)
            return self.pb.ModelReadyResponse(ready=True)

        return self._call(context, "ModelReady", answer)

    def ServerMetadata(self, request: Any, context: Any) -> Any:
        def answer() -> Any:
            return self.pb.ServerMetadataResponse(
                name="modelpack", version=__version__, extensions=list(_v2.EXTENSIONS)
            )

        return self._call(context, "ServerMetadata", answer)

    def ModelMetadata(self, request: Any, context: Any) -> Any:
        def answer() -> Any:
            model, version = self._served(request.name, request.version)
            meta = _v2.model_metadata(model, request.name, version)
            tensor = self.pb.ModelMetadataResponse.TensorMetadata
            return self.pb.ModelMetadataResponse(
                name=meta["name"],
                versions=meta["versions"],
                platform=meta["platform"],
                inputs=[tensor(**t) for t in meta["inputs"]],
                outputs=[tensor(**t) for t in meta["outputs"]],
            )

        return self._call(context, "ModelMetadata", answer)

    # ------------------------------------------------------------------ infer
    def ModelInfer(self, request: Any, context: Any) -> Any:
        return self._call(context, "ModelInfer", lambda: self._infer(request))

    def _infer(self, request: Any) -> Any:
        model, version = self._served(request.model_name, request.model_version)
        raw = request.raw_input_contents
        if raw and len(raw) != len(request.inputs):
            raise HTTPError(
                400,
                "BAD_REQUEST",
                f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; "
                "send one per input, in order",
            )
        if not request.inputs:
            raise HTTPError(400, "BAD_REQUEST", "the request has no inputs")
        tensors = [self._tensor(t, raw[i] if raw else None) for i, t in enumerate(request.inputs)]
        parameters = {k: _parameter(v) for k, v in request.parameters.items()}
        inputs = _v2.build_inputs(tensors, parameters, model, max_cells=self.max_cells)
        ok, out = run_one(model.predict, inputs)
        if not ok:
            raise model_error(out, inputs.data, inputs.note)
        wanted = [o.name for o in request.outputs] or None
        outputs = _v2.select_outputs(_v2.model_outputs(out, model), wanted)
        response = self.pb.ModelInferResponse(
            model_name=request.model_name, model_version=version or "", id=request.id
        )
        # raw_output_contents holds every output or none: raw when the request was, or when
        # an output has no typed field (FP16)
        use_raw = bool(raw) or any(datatype not in _CONTENTS for _, _, datatype in outputs)
        for name, arr, datatype in outputs:
            tensor = response.outputs.add(name=name, datatype=datatype, shape=arr.shape)
            if use_raw:
                response.raw_output_contents.append(_tensors.to_bytes(arr, datatype))
                continue
            values = arr.ravel().tolist()
            if datatype == "BYTES":
                values = [v if isinstance(v, bytes) else str(v).encode() for v in values]
            getattr(tensor.contents, _CONTENTS[datatype]).extend(values)
        return response

    def _tensor(self, tensor: Any, raw: bytes | None) -> tuple[str, np.ndarray]:
        where = f"input {tensor.name!r:.100}"
        shape = _tensors.check_shape(list(tensor.shape), where, self.max_cells)
        datatype = _tensors.check_datatype(tensor.datatype, where)
        if raw is not None:
            return tensor.name, _tensors.from_bytes(raw, datatype, shape, where)
        if datatype not in _CONTENTS:
            raise HTTPError(
                400,
                "BAD_REQUEST",
                f"{where} is {datatype}, which has no typed contents; send it "
                "in raw_input_contents",
            )
        values = getattr(tensor.contents, _CONTENTS[datatype])
        if not values and 0 not in shape:
            used = [f.name for f, _ in tensor.contents.ListFields()]
            if used:  # the values are there, in the field of another datatype
                raise HTTPError(
                    400,
                    "BAD_REQUEST",
                    f"{where} is {datatype}, so its values go in contents."
                    f"{_CONTENTS[datatype]}; the request filled {', '.join(used)}",
                )
        return tensor.name, _tensors.from_values(list(values), datatype, shape, where)


def _parameter(value: Any) -> Any:
    """An InferParameter as a Python value."""
    kind = value.WhichOneof("parameter_choice")
    return getattr(value, kind) if kind else None


# ------------------------------------------------------------------------------ the server
def start_server(
    lookup: Lookup,
    address: str,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    max_message_bytes: int = 64 * 1024 * 1024,
    metrics: Metrics | None = None,
) -> tuple[Any, int]:
    """Start a gRPC server for ``lookup``'s models on ``address`` (``host:port``); returns it
    (``.stop(grace)`` stops it) and the port it listens on. Calls are counted in ``metrics``."""
    servicer = Servicer(lookup, max_cells=max_cells, metrics=metrics)
    import grpc

    from modelpack.serving.proto import grpc_predict_v2_pb2_grpc

    server = grpc.server(
        ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="modelpack-grpc"),
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", -1),
        ],
        # calls beyond this many in progress or waiting are refused (RESOURCE_EXHAUSTED)
        # rather than queued without bound, each holding a message of up to max_message_bytes
        maximum_concurrent_rpcs=_MAX_CALLS,
    )
    grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as e:  # grpcio raises this when it cannot bind
        raise OSError(f"cannot listen for gRPC on {address} (--grpc-port): {e}") from None
    if not port:
        raise OSError(f"cannot listen for gRPC on {address} (--grpc-port): address in use?")
    server.start()
    return server, port


def start_for_app(app: Any) -> Callable[[], None]:
    """Start the gRPC server beside a scoring app when its config names a gRPC address;
    returns a function that stops it (which does nothing when none was started)."""
    config = app.config
    address = getattr(config, "grpc_address", None)
    if not address:
        return lambda: None
    server, port = start_server(
        app.table.get,  # a Served: the model and the version it is
        address,
        max_cells=config.max_cells,
        max_message_bytes=config.max_body_bytes,
        metrics=app.metrics,
    )
    host = address.rpartition(":")[0]
    log.info("gRPC (Open Inference Protocol) listening on %s:%d", host, port)
    return lambda: server.stop(5).wait()
