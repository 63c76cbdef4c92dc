"""Compares protocol/gguf's output with gguf-py and ggml; run through scripts/gguf/crosscheck.ts.

usage: crosscheck.py DIR [LIBGGML_BASE_SO]   (needs: pip install gguf numpy)
"""
import ctypes
import hashlib
import json
import os
import sys

import numpy as np
from gguf import GGUFWriter, GGUFValueType as VT, GGMLQuantizationType as QT
from gguf.quants import quantize

VTYPES = {'u8': VT.UINT8, 'i8': VT.INT8, 'u16': VT.UINT16, 'i16': VT.INT16, 'u32': VT.UINT32, 'i32': VT.INT32,
          'f32': VT.FLOAT32, 'bool': VT.BOOL, 'string': VT.STRING, 'u64': VT.UINT64, 'i64': VT.INT64, 'f64': VT.FLOAT64}
failed = False


def report(what, ours, theirs):
    global failed
    same = np.array_equal(np.frombuffer(ours, np.uint8), np.frombuffer(theirs, np.uint8))
    failed = failed or not same
    print(f'{"ok  " if same else "FAIL"} {what}')


def fixed_inputs():
    """The inputs of test/unit/protocol/gguf/quantize.test.ts fixedInputs()."""
    v = [(j - 15.5) / 8 for j in range(32)]
    s = 12345
    for _ in range(64):
        s = (s * 1664525 + 1013904223) & 0xffffffff
        v.append(((s >> 11) - 2**20) / 2**17)
    v += [0.0] * 32
    v += [(-3.0 if j == 4 else 3.0 if j == 20 else (j % 7 - 3) * 0.25) for j in range(32)]
    v += [(j - 16) * 2**-30 for j in range(32)]
    return np.array(v, dtype=np.float32)


def main():
    d = sys.argv[1]
    x = np.fromfile(os.path.join(d, 'x.f32'), dtype=np.float32)
    blocks = x.reshape(-1, 32)
    with np.errstate(all='ignore'):
        report(f'Q8_0 of {x.size} values = gguf-py', open(os.path.join(d, 'q8_0.bin'), 'rb').read(), quantize(blocks, QT.Q8_0).tobytes())
        report(f'Q4_0 of {x.size} values = gguf-py', open(os.path.join(d, 'q4_0.bin'), 'rb').read(), quantize(blocks, QT.Q4_0).tobytes())
        report(f'F16 of {x.size} values = numpy astype(float16)', open(os.path.join(d, 'f16.bin'), 'rb').read(), x.astype(np.float16).tobytes())

    lib_path = sys.argv[2] if len(sys.argv) > 2 else None
    if lib_path and os.path.exists(lib_path):
        lib = ctypes.CDLL(lib_path)
        for name, fn, size in [('q8_0', lib.quantize_row_q8_0_ref, 34), ('q4_0', lib.quantize_row_q4_0_ref, 18)]:
            out = np.zeros(x.size // 32 * size, dtype=np.uint8)
            fn(x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(x.size))
            report(f'{name.upper()} = {os.path.basename(lib_path)} quantize_row_{name}_ref', open(os.path.join(d, f'{name}.bin'), 'rb').read(), out.tobytes())
    else:
        print('skip libggml-base.so (not found)')

    for t in ['F32', 'F16', 'Q8_0', 'Q4_0']:
        spec = json.load(open(os.path.join(d, f'{t}.json')))
        vals = np.fromfile(os.path.join(d, f'{t}.f32'), dtype=np.float32)
        md = spec['metadata']
        assert md[0][0] == 'general.architecture'  # GGUFWriter writes it first
        path = os.path.join(d, f'{t}.py.gguf')
        w = GGUFWriter(path, arch=md[0][1]['value'])
        for k, v in md[1:]:
            if v['type'] == 'array':
                w.add_key_value(k, v['value'], VT.ARRAY, sub_type=VTYPES[v['itemType']])
            else:
                w.add_key_value(k, int(v['value']) if v['type'] in ('u64', 'i64') else v['value'], VTYPES[v['type']])
        off = 0
        for ti in spec['tensors']:
            n = int(np.prod(ti['dims']))
            a = vals[off:off + n].reshape(list(reversed(ti['dims'])))
            off += n
            qt = QT(ti['type'])
            if qt == QT.F32:
                w.add_tensor(ti['name'], a)
            elif qt == QT.F16:
                w.add_tensor(ti['name'], a.astype(np.float16))
            else:
                q = quantize(a, qt)
                w.add_tensor(ti['name'], q, raw_shape=q.shape, raw_dtype=qt)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        theirs = open(path, 'rb').read()
        report(f'test model {t} = GGUFWriter, sha256 {hashlib.sha256(theirs).hexdigest()}', open(os.path.join(d, f'{t}.gguf'), 'rb').read(), theirs)

    f = fixed_inputs().reshape(-1, 32)
    print('golden blocks for quantize.test.ts:')
    print('  Q8_0', quantize(f, QT.Q8_0).tobytes().hex())
    print('  Q4_0', quantize(f, QT.Q4_0).tobytes().hex())
    print('  F16 ', f.reshape(-1)[:64].astype(np.float16).tobytes().hex())
    sys.exit(1 if failed else 0)


main()
