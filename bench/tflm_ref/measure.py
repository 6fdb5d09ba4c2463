#!/usr/bin/env python3
"""Count the instructions of one TFLM Invoke() of a .tflite model under QEMU on Kiln's boards
without DSP: Kiln's copy of ../shared/tools/tflm-qemu/measure.py for issue 19's anchors (reference
kernels built by build.sh for the target, run on the QEMU machine Kiln's board uses).

  measure.py MODEL.tflite [--target m0plus|rv32|m55] [--kernels ref|cmsis|both] [--json] [--seed N] [--timeout S] [--arena B]

  m0plus  -mcpu=cortex-m0plus, qemu-system-arm -M mps2-an385 -cpu cortex-m3 (qemu-m0plus)
  rv32    -march=rv32imc -mabi=ilp32 (picolibc), qemu-system-riscv32 -M virt -cpu rv32,a=off,f=off,d=off
          -bios none (qemu-rv32)
  m55     -mcpu=cortex-m55, qemu-system-arm -M mps3-an547 -cpu cortex-m55 (qemu-m55); reference and
          CMSIS-NN kernels (its Helium paths)

Uses the TFLM library build.sh makes next to this script (lib/<target>/ref/libtflm.a, include/)
and a Python with numpy + tflite-micro (PyPI): this interpreter, or $TFLM_PY if set.

Per kernel set: generates model_config.h (a MicroMutableOpResolver with every builtin op
the model uses, resource-variable count), embeds model and a seeded random input with
.incbin, links fw/ + libtflm.a, runs QEMU with -icount shift=0 and -plugin libicount_marks.so
and reads the exact executed-instruction count between markers placed around
AllocateTensors(), a warm-up Invoke() and the measured (second) Invoke(). The target's own
timer is read as a cross-check (SysTick on mps2: 40 instructions a tick, 31.25 on mps3-an547;
instret on rv32: 1). Outputs of both invokes are compared byte-for-byte with the PyPI tflite-micro
interpreter (reference kernels, x86) run on the same input, also twice (streaming models
keep state in resource variables between invokes).

Environment: TFLM_PY (Python with numpy + tflite-micro), TFLM_QEMU_CACHE (default
~/.cache/tflm-qemu: the QEMU plugin, built on first use), TFLM_QEMU_RUNS (per-model build and
run files, default $TFLM_QEMU_CACHE/runs).
"""
import argparse, hashlib, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent          # the prebuilt tree: lib/, include/, fw/, plugin/
CACHE = Path(os.environ.get("TFLM_QEMU_CACHE") or "~/.cache/tflm-qemu").expanduser().resolve()
RUNS = Path(os.environ.get("TFLM_QEMU_RUNS") or CACHE / "runs").expanduser().resolve()
APT = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
TARGETS = {  # the compiler, link and QEMU of each target
    "m0plus": dict(cross="arm-none-eabi-", arch=["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
                   link=["arm-none-eabi-g++", "--specs=nano.specs", "--specs=nosys.specs"],
                   startup="startup.c", ld="link.ld", apt=APT,
                   qemu=["qemu-system-arm", "-M", "mps2-an385", "-cpu", "cortex-m3",
                         "-semihosting-config", "enable=on,target=native"]),
    "m55": dict(cross="arm-none-eabi-", arch=["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
                link=["arm-none-eabi-g++", "--specs=nano.specs", "--specs=nosys.specs"],
                startup="startup.c", defines=["-DUART0_BASE=0x49303000u"], ld="link_m55.ld", apt=APT,
                flash=2 << 20, kernels=("ref", "cmsis"),
                qemu=["qemu-system-arm", "-M", "mps3-an547", "-cpu", "cortex-m55",
                      "-semihosting-config", "enable=on,target=native"]),
    # linked by gcc, not g++: there is no libstdc++ for this target (tflm.mk)
    "rv32": dict(cross="riscv64-unknown-elf-", arch=["-march=rv32imc", "-mabi=ilp32"],
                 link=["riscv64-unknown-elf-gcc", "--specs=picolibc.specs"],
                 startup="startup_rv32.c", ld="link_rv32.ld",
                 apt=APT + " gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc",
                 qemu=["qemu-system-riscv32", "-M", "virt", "-cpu", "rv32,a=off,f=off,d=off", "-bios", "none"]),
}

_py = os.environ.get("TFLM_PY")
if _py and not os.environ.get("TFLM_QEMU_REEXEC") and os.path.abspath(_py) != os.path.abspath(sys.executable):
    os.environ["TFLM_QEMU_REEXEC"] = "1"
    try:
        os.execv(_py, [_py] + sys.argv)
    except OSError as e:
        print(f"TFLM_PY={_py}: cannot run it ({e})", file=sys.stderr)
        sys.exit(2)
try:
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb
except ImportError as e:
    print(f"{sys.executable} lacks numpy + tflite-micro ({e}).\n"
          f"  pip install numpy tflite-micro   (or set TFLM_PY to a Python that has them)", file=sys.stderr)
    sys.exit(2)


def check_tools(target):
    """Exit 2 with the apt-get line if the cross toolchain, the C++ library (headers) or QEMU is missing."""
    t = TARGETS[target]
    missing = [x for x in (t["cross"] + "gcc", t["cross"] + "g++", "arm-none-eabi-g++", t["qemu"][0])
               if not shutil.which(x)]
    if shutil.which("arm-none-eabi-g++"):
        for f in ("nano.specs", "libstdc++_nano.a"):   # libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib
            p = subprocess.run(["arm-none-eabi-g++", *TARGETS["m0plus"]["arch"], f"-print-file-name={f}"],
                               capture_output=True, text=True).stdout.strip()
            if not os.path.isabs(p):
                missing.append(f)
    if missing:
        print(f"missing: {', '.join(missing)}. Install (Debian 12):\n{t['apt']}", file=sys.stderr)
        sys.exit(2)
    for k in t.get("kernels", ("ref",)):
        if not (HERE / "lib" / target / k / "libtflm.a").exists():
            print(f"{HERE / 'lib' / target / k / 'libtflm.a'} is missing; rebuild with TARGET={target} "
                  f"{HERE / 'build.sh'}", file=sys.stderr)
            sys.exit(2)


def plugin_path():
    """The QEMU TCG plugin, compiled with the host gcc into the cache on first use (keyed by its source)."""
    srcs = [HERE / "plugin" / "icount_marks.c", HERE / "plugin" / "qemu-plugin-min.h"]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in srcs)).hexdigest()[:12]
    so = CACHE / f"libicount_marks-{key}.so"
    if so.exists():
        return so
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        print("no host C compiler for the QEMU plugin. Install (Debian 12):\napt-get install gcc", file=sys.stderr)
        sys.exit(2)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = so.with_name(f"{so.name}.{os.getpid()}.tmp")
    run([cc, "-O2", "-shared", "-fPIC", "-Wall", "-I", str(HERE / "plugin"), "-o", str(tmp), str(srcs[0])])
    os.replace(tmp, so)
    return so


def lib_flags(target, kernels):
    """lib/<target>/<kernels>/flags.txt as lists of arguments, its include paths (relative to this folder) made absolute."""
    flags = {k: v.split() for k, v in (l.split("=", 1) for l in
             (HERE / "lib" / target / kernels / "flags.txt").read_text().splitlines() if "=" in l)}
    flags["INCLUDES"] = ["-I" + str(HERE / f[2:]) if f.startswith("-I") and not os.path.isabs(f[2:]) else f
                         for f in flags["INCLUDES"]]
    return flags


TT = {0: ("float32", np.float32), 2: ("int32", np.int32), 3: ("uint8", np.uint8), 4: ("int64", np.int64),
      6: ("bool", np.bool_), 7: ("int16", np.int16), 9: ("int8", np.int8)}
OPNAME = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}


def load_model(path):
    buf = open(path, "rb").read()
    return buf, fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(buf, 0))


def op_codes(m):
    return [runtime.get_builtin_code_from_operator_code(oc) for oc in m.operatorCodes]


def prod(s):
    p = 1
    for d in s:
        p *= int(d)
    return p


def count_macs(m):
    """MACs of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL
    (+ UNIDIRECTIONAL_SEQUENCE_LSTM gate matmuls), over all subgraphs, from static shapes."""
    codes = op_codes(m)
    total, per_op = 0, {}  # python ints (no overflow)
    for sg in m.subgraphs:
        T = sg.tensors
        shp = lambda i: [int(d) for d in T[i].shape] if i >= 0 and T[i].shape is not None else []
        for op in sg.operators or []:
            name = OPNAME.get(codes[op.opcodeIndex], "?")
            ins, outs = list(op.inputs), list(op.outputs)
            n = 0
            if name == "CONV_2D":
                f = shp(ins[1]); n = prod(shp(outs[0])) * f[1] * f[2] * f[3]
            elif name == "DEPTHWISE_CONV_2D":
                f = shp(ins[1]); n = prod(shp(outs[0])) * f[1] * f[2]
            elif name == "FULLY_CONNECTED":
                f = shp(ins[1]); n = prod(shp(outs[0])) * f[-1]
            elif name == "TRANSPOSE_CONV":
                f = shp(ins[1]); n = prod(shp(ins[2])) * f[0] * f[1] * f[2]
            elif name == "BATCH_MATMUL":
                a = shp(ins[0]); adj_x = bool(op.builtinOptions and getattr(op.builtinOptions, "adjX", False))
                n = prod(shp(outs[0])) * (a[-2] if adj_x else a[-1])
            elif name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
                x = shp(ins[0]); w = shp(ins[1]); r = shp(ins[5]) if ins[5] >= 0 else [0, 0]
                steps_batch = prod(x[:-1]); n = steps_batch * 4 * w[0] * (w[1] + r[1])
            if n:
                per_op[name] = per_op.get(name, 0) + int(n)
                total += int(n)
    return total, per_op


def resolver_methods():
    hdr = (HERE / "include/tflite-micro/tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    return {op: meth for meth, op in re.findall(
        r"TfLiteStatus\s+(Add\w+)\s*\([^{;]*?\{\s*return\s+AddBuiltin\(\s*BuiltinOperator_(\w+)", hdr)}


def make_inputs(m, seed):
    rng = np.random.default_rng(seed)
    sg = m.subgraphs[0]
    arrs = []
    for ti in sg.inputs:
        t = sg.tensors[ti]
        tname, dt = TT[t.type]
        shape = [int(d) for d in t.shape]
        if tname == "int8": a = rng.integers(-128, 128, size=shape).astype(dt)
        elif tname == "uint8": a = rng.integers(0, 256, size=shape).astype(dt)
        elif tname == "int16": a = rng.integers(-32768, 32768, size=shape).astype(dt)
        elif tname == "float32": a = rng.uniform(-1.0, 1.0, size=shape).astype(dt)
        elif tname in ("int32", "int64"): a = rng.integers(0, 8, size=shape).astype(dt)
        elif tname == "bool": a = rng.integers(0, 2, size=shape).astype(dt)
        arrs.append(a)
    return arrs


def python_reference(buf, m, inputs):
    it = runtime.Interpreter.from_bytes(buf, arena_size=64 << 20)
    outs = []
    for _ in range(2):
        for i, a in enumerate(inputs):
            it.set_input(a, i)
        it.invoke()
        outs.append([np.ascontiguousarray(it.get_output(n)).tobytes() for n in range(len(m.subgraphs[0].outputs))])
    return outs


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def build_fw(target, kernels, m, buf, inputs, workdir, arena):
    t = TARGETS[target]
    flags = lib_flags(target, kernels)
    os.makedirs(workdir, exist_ok=True)
    methods = resolver_methods()
    codes = sorted(set(op_codes(m)))
    adds = []
    for c in codes:
        name = OPNAME.get(c, str(c))
        if name not in methods:
            raise RuntimeError(f"op {name} has no MicroMutableOpResolver::Add method (custom op?)")
        adds.append(f"r.{methods[name]}();")
    nvars = runtime.count_resource_variables(m)
    cfg = (f'#define TFLM_KERNELS "{kernels}"\n#define TFLM_NUM_OPS {max(1, len(adds))}\n'
           f"#define TFLM_NUM_RESOURCE_VARS {nvars}\n#define TFLM_ARENA_SIZE {arena}\n"
           f"#define TFLM_ADD_OPS(r) do {{ {' '.join(adds)} }} while (0)\n")
    open(os.path.join(workdir, "model_config.h"), "w").write(cfg)
    open(os.path.join(workdir, "model.tflite"), "wb").write(buf)
    open(os.path.join(workdir, "input.bin"), "wb").write(b"".join(a.tobytes() for a in inputs))
    open(os.path.join(workdir, "data.S"), "w").write(
        '.section .model,"a"\n.balign 16\n.global g_model\ng_model:\n.incbin "model.tflite"\n'
        '.section .rodata.input,"a"\n.balign 16\n.global g_input\ng_input:\n.incbin "input.bin"\n.byte 0\n')
    region = "FLASH" if len(buf) < t.get("flash", 3 << 20) else "PSRAM"
    ld = (HERE / "fw" / t["ld"]).read_text().replace("MODEL_REGION", region)
    open(os.path.join(workdir, "link.ld"), "w").write(ld)
    inc = flags["INCLUDES"] + ["-I" + workdir]
    cxx = [t["cross"] + "g++"] + flags["CXXFLAGS"] + inc
    cc = [t["cross"] + "gcc"] + flags["CFLAGS"]
    W = lambda f: os.path.join(workdir, f)
    run(cxx + ["-c", str(HERE / "fw/main.cc"), "-o", W("main.o")])
    run(cc + t.get("defines", []) + ["-c", str(HERE / "fw" / t["startup"]), "-o", W("startup.o")])
    run(cc + ["-c", W("data.S"), "-o", W("data.o")], cwd=workdir)
    run([t["link"][0]] + t["arch"] + ["-O2", *t["link"][1:], "-nostartfiles",
         "-T", W("link.ld"), "-Wl,--gc-sections", "-Wl,-Map=" + W("fw.map"),
         W("startup.o"), W("main.o"), W("data.o"), str(HERE / "lib" / target / kernels / "libtflm.a"),
         "-lm", "-o", W("fw.elf")])
    nm = run([t["cross"] + "nm", W("fw.elf")]).stdout
    mark = int(re.search(r"^([0-9a-f]+) T tflm_mark$", nm, re.M).group(1), 16)
    size = run([t["cross"] + "size", "-A", W("fw.elf")]).stdout
    text = sum(int(x) for x in re.findall(r"^\.text\s+(\d+)", size, re.M))
    return W("fw.elf"), mark, text


def run_qemu(target, elf, mark, workdir, timeout):
    out = os.path.join(workdir, "icount.txt")
    if os.path.exists(out): os.remove(out)
    cmd = [*TARGETS[target]["qemu"], "-icount", "shift=0", "-display", "none", "-monitor", "none", "-serial", "stdio",
           "-plugin", f"{plugin_path()},mark={mark:#x},out={out}",
           "-kernel", elf]
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"QEMU timeout after {timeout}s")
    wall = time.time() - t0
    if r.returncode != 0 or "TFLM_DONE" not in r.stdout:
        raise RuntimeError(f"firmware failed rc={r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    marks = [int(l.split()[2]) for l in open(out) if l.startswith("MARK")]
    total = [int(l.split()[1]) for l in open(out) if l.startswith("TOTAL")][0]
    return r.stdout, marks, total, wall


def measure(model, kernels, seed, timeout, arena, target="m0plus"):
    buf, m = load_model(model)
    macs, per_op = count_macs(m)
    inputs = make_inputs(m, seed)
    ref = python_reference(buf, m, inputs)
    tag = os.path.splitext(os.path.basename(model))[0] + "-" + hashlib.sha256(buf).hexdigest()[:8]
    results = []
    for k in (["cmsis", "ref"] if kernels == "both" else [kernels]):
        workdir = str(RUNS / tag / target / k)
        elf, mark, text = build_fw(target, k, m, buf, inputs, workdir, arena)
        stdout, marks, total, wall = run_qemu(target, elf, mark, workdir, timeout)
        if len(marks) != 6:
            raise RuntimeError(f"expected 6 marks, got {marks}")
        kv = dict(re.findall(r"^(ARENA_USED|SYSTICK_INVOKE\d) (\d+)", stdout, re.M))
        outs = {1: [], 2: []}
        for p, i, h in re.findall(r"^OUT(\d)_(\d+) ([0-9a-f]*)", stdout, re.M):
            outs[int(p)].append(bytes.fromhex(h))
        match1, match2 = outs[1] == ref[0], outs[2] == ref[1]
        # largest |difference| over outputs of both invokes (in the output dtype; float: x86 vs M4 libm/FMA)
        maxdiff = 0.0
        sg = m.subgraphs[0]
        for p_ in (1, 2):
            for i, (a_, b_) in enumerate(zip(outs[p_], ref[p_ - 1])):
                dt = TT[sg.tensors[sg.outputs[i]].type][1]
                if len(a_) != len(b_):
                    maxdiff = float("inf"); continue
                x, y = np.frombuffer(a_, dt).astype(np.float64), np.frombuffer(b_, dt).astype(np.float64)
                if x.size: maxdiff = max(maxdiff, float(np.max(np.abs(x - y))))
        if len(outs[1]) != len(ref[0]) or len(outs[2]) != len(ref[1]): maxdiff = float("inf")
        inv = marks[5] - marks[4]
        st = int(kv["SYSTICK_INVOKE2"])
        results.append(dict(
            model=os.path.basename(model), target=target, kernels=k, macs=macs, macs_per_op=per_op,
            instructions=inv, instructions_invoke1=marks[3] - marks[2],
            instructions_alloc=marks[1] - marks[0], instructions_total_run=total,
            instr_per_mac=(inv / macs) if macs else None,
            systick_invoke=st, instr_per_systick=(inv / st) if st else None,
            arena_used_bytes=int(kv["ARENA_USED"]), text_bytes=text,
            output_matches_interpreter=bool(match1 and match2), match_invoke1=match1, match_invoke2=match2,
            output_max_abs_diff=maxdiff,
            output_dtypes=[TT[m.subgraphs[0].tensors[i].type][0] for i in m.subgraphs[0].outputs],
            output_bytes=[o.hex() for o in outs[2]][:4] if sum(len(o) for o in outs[2]) <= 64 else None,
            qemu_wall_s=round(wall, 2), seed=seed))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--target", choices=sorted(TARGETS), default="m0plus")
    ap.add_argument("--kernels", choices=["ref", "cmsis", "both"], default="ref",
                    help="cmsis and both: the m55 only (CMSIS-NN has no fast path for the other two)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--timeout", type=int, default=600, help="QEMU timeout per run, seconds")
    ap.add_argument("--arena", type=int, default=12 << 20, help="tensor arena bytes (PSRAM, max 16 MiB)")
    a = ap.parse_args()
    check_tools(a.target)
    if a.kernels != "ref" and "cmsis" not in TARGETS[a.target].get("kernels", ()):
        ap.error(f"--kernels {a.kernels}: target {a.target} has reference kernels only")
    res = measure(a.model, a.kernels, a.seed, a.timeout, a.arena, a.target)
    if a.json:
        print(json.dumps(res, indent=1))
        return
    for r in res:
        ipm = f"{r['instr_per_mac']:.3f}" if r["instr_per_mac"] else "-"
        print(f"{r['model']} [{r['target']} {r['kernels']}]: instructions={r['instructions']:,} (warm-up invoke "
              f"{r['instructions_invoke1']:,}, AllocateTensors {r['instructions_alloc']:,})  MACs={r['macs']:,}  "
              f"instr/MAC={ipm}  arena_used={r['arena_used_bytes']:,} B  "
              f"systick={r['systick_invoke']:,} ({r['instr_per_systick']:.4f} instr/tick)  "
              f"output==tflite-micro interpreter: {'yes' if r['output_matches_interpreter'] else 'NO (max |diff| %g)' % r['output_max_abs_diff']}  "
              f"[qemu {r['qemu_wall_s']}s]")


if __name__ == "__main__":
    main()
