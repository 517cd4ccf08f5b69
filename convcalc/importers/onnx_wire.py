"""Reading an ONNX file without reading its weights: a scan of the protobuf wire format over a memory map.

An ONNX file is one ``ModelProto`` message (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto). Almost all
of its bytes are the initializers' ``raw_data``, inside ``ModelProto.graph`` (field 7) as
``GraphProto.initializer`` (field 5). :func:`scan` walks the fields (each a varint key, ``field << 3 | wire
type``, then a varint, a fixed 4 or 8 bytes, or a length and that many bytes): it parses the model without its
graph and the graph without its initializers with protobuf itself (they are small), and of each initializer reads
only the small fields — name (8), dims (1), data type (2), data location (14) — skipping ``raw_data`` by its
length, so the weights' pages are never touched. Small initializers are parsed whole, for their values.

Anything the scan does not expect raises :class:`WireError`; the caller then parses the file the ordinary way,
which gives protobuf's own message for a damaged file.
"""

from __future__ import annotations

import mmap

#: ModelProto.graph, GraphProto.initializer, and the TensorProto fields the scan reads
MODEL_GRAPH, GRAPH_INITIALIZER = 7, 5
TENSOR_DIMS, TENSOR_TYPE, TENSOR_NAME, TENSOR_LOCATION = 1, 2, 8, 14
#: an initializer of at most this many bytes is parsed whole (its value may be needed for folding)
WHOLE_BYTES = 1 << 16


class WireError(Exception):
    """The bytes are not the protobuf messages the scan expects."""


def varint(data, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 63:
            raise WireError("a varint runs past the end")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def fields(data, start: int, end: int):
    """``(field number, wire type, value or (payload start, payload end), field start, field end)`` of each field
    of the message in ``data[start:end]``."""
    at = start
    while at < end:
        begin = at
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 1:
            value, at = None, at + 8
        elif wire == 5:
            value, at = None, at + 4
        elif wire == 2:
            length, at = varint(data, at)
            value, at = (at, at + length), at + length
        else:
            raise WireError(f"wire type {wire}")
        if at > end:
            raise WireError("a field runs past the end of its message")
        yield number, wire, value, begin, at


def tensor_header(data, start: int, end: int) -> tuple[str, tuple, int, bool]:
    """An initializer's name, dims, data type and whether its data is external, read without its data."""
    name, dims, dtype, external = "", [], 0, False
    for number, wire, value, _, _ in fields(data, start, end):
        if number == TENSOR_NAME and wire == 2:
            name = bytes(data[value[0]:value[1]]).decode()
        elif number == TENSOR_DIMS and wire == 0:
            dims.append(value)
        elif number == TENSOR_DIMS and wire == 2:  # packed
            at = value[0]
            while at < value[1]:
                dim, at = varint(data, at)
                dims.append(dim)
        elif number == TENSOR_TYPE and wire == 0:
            dtype = value
        elif number == TENSOR_LOCATION and wire == 0:
            external = value == 1
    return name, tuple(dims), dtype, external


def scan(path: str):
    """``(model without its graph, graph without its initializers, initializers)`` of the file, where each
    initializer is ``(name, dims, data type, TensorProto or None)``: the parsed tensor when it is small, else None
    (its data skipped). Raises :class:`WireError` for bytes it does not expect."""
    import onnx

    with open(path, "rb") as stream:
        try:
            data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:  # an empty file
            raise WireError(str(exc)) from None
    try:
        model_rest, graph_span = bytearray(), None
        for number, wire, value, begin, end in fields(data, 0, len(data)):
            if number == MODEL_GRAPH and wire == 2:
                graph_span = value
            else:
                model_rest += data[begin:end]
        if graph_span is None:
            raise WireError("no graph")
        graph_rest, inits = bytearray(), []
        for number, wire, value, begin, end in fields(data, *graph_span):
            if number != GRAPH_INITIALIZER or wire != 2:
                graph_rest += data[begin:end]
                continue
            if value[1] - value[0] <= WHOLE_BYTES:
                tensor = onnx.TensorProto()
                try:
                    tensor.ParseFromString(bytes(data[value[0]:value[1]]))
                except Exception as exc:  # protobuf's DecodeError, or upb's RuntimeError
                    raise WireError(str(exc)) from None
                inits.append((tensor.name, tuple(tensor.dims), tensor.data_type, tensor))
            else:
                name, dims, dtype, _ = tensor_header(data, *value)
                inits.append((name, dims, dtype, None))
        model, graph = onnx.ModelProto(), onnx.GraphProto()
        try:
            model.ParseFromString(bytes(model_rest))
            graph.ParseFromString(bytes(graph_rest))
        except Exception as exc:  # protobuf's DecodeError, or upb's RuntimeError
            raise WireError(str(exc)) from None
        return model, graph, inits
    finally:
        data.close()
