#!/usr/bin/env python3
"""Read a GGUF file with llama.cpp's own Python reader (PyPI `gguf`, gguf-py's GGUFReader) and
print what it sees as JSON: every metadata field with its value type(s) and value, and every
tensor with its type, dimensions (ggml order), byte size, data offset and the SHA-256 of its
data. mh-gguf's tests compare this with what they meant to write.

Usage: python scripts/gguf_read.py FILE.gguf
"""

import hashlib
import json
import sys

from gguf import GGUFReader
from gguf.constants import GGUFValueType


def value_of(field):
    types = field.types
    if not types:
        return None
    if types[0] == GGUFValueType.ARRAY:
        return [field.contents(i) for i in range(len(field.data))]
    return field.contents()


def main():
    path = sys.argv[1]
    reader = GGUFReader(path)
    fields = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue  # the reader's pseudo-fields for the header
        value = value_of(field)
        if isinstance(value, float):
            value = repr(value)  # keep the float32 value exactly
        fields[name] = {"types": [t.name for t in field.types], "value": value}
    tensors = []
    for t in reader.tensors:
        data = bytes(t.data.tobytes())
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "ne": [int(d) for d in t.shape],
            "n_bytes": int(t.n_bytes),
            "data_offset": int(t.data_offset),
            "sha256": hashlib.sha256(data).hexdigest(),
        })
    json.dump({"alignment": int(reader.alignment), "fields": fields, "tensors": tensors}, sys.stdout)


if __name__ == "__main__":
    main()
