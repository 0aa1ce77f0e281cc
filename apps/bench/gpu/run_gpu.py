#!/usr/bin/env python3
"""Times vitkit's graphs on a GPU machine next to PyTorch running the same architectures.

Input: the folders `pnpm bench:gpu-export` writes (model.onnx without its float weights,
manifest.json saying what fills model.data, config.json). Here each model.data is filled with
seeded random normals (x 0.02), then, per model, dtype and batch:
  - vitkit's graph on onnxruntime, with every GPU provider this onnxruntime build has (CUDA,
    TensorRT with --tensorrt), or CPU with --cpu; inputs and outputs bound on the device;
  - PyTorch: transformers' class for the same config, random weights: eager fp32 or fp16
    (model.half()), bf16 autocast, and torch.compile where it works.
Warm-up runs, then median and p90 over --runs, images/s and peak GPU memory. Anything absent
(onnxruntime, a provider, torch, transformers) is recorded as skipped with the reason, never fatal.
Results go to <out>/gpu-results.json after every row, so a run cut short keeps what it measured.

Needs only numpy to fill the weights; the CPU path (--cpu, no torch) is CI's smoke test.
"""

import argparse
import json
import os
import platform
import sys
import time
import traceback

import numpy as np


def log(*args):
    print(*args, flush=True)


def fill_weights(folder, manifest, seed=0):
    """Writes model.data: each tensor at its offset, normals x 0.02 in its dtype; gaps stay zero."""
    path = os.path.join(folder, manifest["data"]["file"])
    if os.path.exists(path) and os.path.getsize(path) == manifest["data"]["bytes"]:
        return path
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.truncate(manifest["data"]["bytes"])
        for i, t in enumerate(manifest["tensors"]):
            n = int(np.prod(t["shape"])) if t["shape"] else 1
            values = np.random.default_rng(seed + i).standard_normal(n, dtype=np.float32) * np.float32(0.02)
            if t["dtype"] == "float32":
                raw = values.tobytes()
            elif t["dtype"] == "float16":
                raw = values.astype(np.float16).tobytes()
            else:  # bfloat16: the high half of each float32
                raw = (values.view(np.uint32) >> 16).astype(np.uint16).tobytes()
            if len(raw) != t["length"]:
                raise ValueError(f"{folder}: {t['name']} fills {len(raw)} bytes, the manifest says {t['length']}")
            f.seek(t["offset"])
            f.write(raw)
    os.replace(tmp, path)
    return path


def input_arrays(manifest, batch, rng):
    arrays = {}
    for spec in manifest["inputs"]:
        shape = [batch if d == "batch" else d for d in spec["shape"]]
        if spec["name"] == "pixel_mask":  # every pixel real, in the dtype the graph takes
            arrays[spec["name"]] = np.ones(shape, dtype={"float32": np.float32, "int64": np.int64, "int32": np.int32}[spec["dtype"]])
        else:
            arrays[spec["name"]] = rng.standard_normal(shape, dtype=np.float32)
    return arrays


def timed(fn, warmup, runs, sync=lambda: None):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p50 = float(np.percentile(times, 50))
    return {"p50_ms": round(p50, 3), "p90_ms": round(float(np.percentile(times, 90)), 3), "runs": runs}


class GpuMemory:
    """Device memory in use (all processes' allocations, which is what onnxruntime's arena shows as)."""

    def __init__(self):
        self.handle = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:
            pass

    def used_mb(self):
        if self.handle is None:
            return None
        return self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used / 2**20


def run_onnxruntime(folder, manifest, args, results, memory):
    try:
        import onnxruntime as ort
    except ImportError as e:
        results["skipped"].append({"model": manifest["model"], "runner": "onnxruntime", "reason": f"onnxruntime absent ({e})"})
        return
    available = ort.get_available_providers()
    wanted = ["CPUExecutionProvider"] if args.cpu else [p for p in ["CUDAExecutionProvider"] + (["TensorrtExecutionProvider"] if args.tensorrt else []) if p in available]
    if not wanted:
        results["skipped"].append(
            {"model": manifest["model"], "dtype": manifest["dtype"], "runner": "onnxruntime", "reason": f"no GPU provider in this onnxruntime build (has {available})"}
        )
        return
    for provider in wanted:
        if manifest["dtype"] == "fp16" and provider == "CPUExecutionProvider":
            results["skipped"].append({"model": manifest["model"], "dtype": "fp16", "runner": "onnxruntime", "provider": provider, "reason": "fp16 graphs are built for GPUs"})
            continue
        before = memory.used_mb()
        t = time.perf_counter()
        try:
            session = ort.InferenceSession(os.path.join(folder, "model.onnx"), providers=[provider])
        except Exception as e:
            results["skipped"].append({"model": manifest["model"], "dtype": manifest["dtype"], "runner": "onnxruntime", "provider": provider, "reason": f"session failed: {e}"})
            continue
        session_ms = (time.perf_counter() - t) * 1000
        device = "cpu" if provider == "CPUExecutionProvider" else "cuda"
        for batch in args.batches or manifest["batches"]:
            rng = np.random.default_rng(batch)
            feeds = input_arrays(manifest, batch, rng)
            try:
                binding = session.io_binding()
                for name, array in feeds.items():
                    binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, device, 0))
                for name in manifest["outputs"]:
                    binding.bind_output(name, device)
                peak = [before or 0]

                def once():
                    session.run_with_iobinding(binding)
                    used = memory.used_mb()
                    if used is not None:
                        peak[0] = max(peak[0], used)

                row = timed(once, args.warmup, args.runs, binding.synchronize_outputs)
                outputs = binding.copy_outputs_to_cpu()
                finite = all(np.isfinite(np.asarray(o, dtype=np.float32)).all() for o in outputs if np.asarray(o).dtype.kind == "f")
            except Exception as e:
                results["skipped"].append({"model": manifest["model"], "dtype": manifest["dtype"], "batch": batch, "runner": "onnxruntime", "provider": provider, "reason": f"run failed: {e}"})
                continue
            row.update(
                model=manifest["model"],
                dtype=manifest["dtype"],
                batch=batch,
                runner="vitkit graph (onnxruntime)",
                provider=provider,
                session_ms=round(session_ms, 1),
                images_per_s=round(batch * 1000 / row["p50_ms"], 2),
                peak_gpu_mb=None if before is None else round(peak[0] - before, 1),
                outputs_finite=bool(finite),
            )
            results["rows"].append(row)
            log(json.dumps(row))
            save(results, args)
        del session


def run_pytorch(folder, manifest, args, results):
    try:
        import torch
        import transformers
    except ImportError as e:
        results["skipped"].append({"model": manifest["model"], "runner": "pytorch", "reason": f"torch/transformers absent ({e})"})
        return
    if not torch.cuda.is_available() and not args.cpu:
        results["skipped"].append({"model": manifest["model"], "runner": "pytorch", "reason": "torch sees no CUDA device"})
        return
    device = "cpu" if args.cpu else "cuda"
    config = transformers.AutoConfig.from_pretrained(folder)
    # Random weights from the config alone: nothing is downloaded (DETR's timm backbone included).
    if hasattr(config, "use_pretrained_backbone"):
        config.use_pretrained_backbone = False
    cls = getattr(transformers, manifest["architecture"])
    variants = ["eager fp32", "compile fp32"] if manifest["dtype"] == "fp32" else ["eager fp16", "autocast bf16", "compile fp16"]
    for variant in variants:
        if device == "cpu" and "fp16" in variant:
            continue
        try:
            model = cls(config).eval().to(device)
            dtype = torch.float16 if "fp16" in variant else torch.float32
            if "fp16" in variant:
                model = model.half()
            run_model = torch.compile(model) if variant.startswith("compile") else model
        except Exception as e:
            results["skipped"].append({"model": manifest["model"], "runner": f"pytorch {variant}", "reason": f"could not build: {e}"})
            continue
        for batch in args.batches or manifest["batches"]:
            try:
                x = torch.randn(batch, 3, manifest["height"], manifest["width"], device=device, dtype=dtype)
                kwargs = {"pixel_values": x}
                if any(s["name"] == "pixel_mask" for s in manifest["inputs"]):
                    kwargs["pixel_mask"] = torch.ones(batch, manifest["height"], manifest["width"], device=device, dtype=torch.long)
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

                @torch.inference_mode()
                def once():
                    if variant.startswith("autocast"):
                        with torch.autocast("cuda", dtype=torch.bfloat16):
                            run_model(**kwargs)
                    else:
                        run_model(**kwargs)

                # torch.compile compiles on the first calls: more warm-up there.
                row = timed(once, args.warmup * (3 if variant.startswith("compile") else 1), args.runs, sync)
            except Exception as e:
                results["skipped"].append({"model": manifest["model"], "batch": batch, "runner": f"pytorch {variant}", "reason": f"run failed: {str(e).splitlines()[0]}"})
                continue
            row.update(
                model=manifest["model"],
                dtype=manifest["dtype"],
                batch=batch,
                runner=f"pytorch {variant}",
                images_per_s=round(batch * 1000 / row["p50_ms"], 2),
                peak_gpu_mb=round(torch.cuda.max_memory_allocated() / 2**20, 1) if device == "cuda" else None,
            )
            results["rows"].append(row)
            log(json.dumps(row))
            save(results, args)
        del model, run_model
        if device == "cuda":
            torch.cuda.empty_cache()


def ratios(rows):
    """vitkit's images/s over each PyTorch runner's, per model, dtype and batch (>1: vitkit faster)."""
    out = []
    for v in rows:
        if not v["runner"].startswith("vitkit"):
            continue
        for p in rows:
            if p["runner"].startswith("pytorch") and (p["model"], p["dtype"], p["batch"]) == (v["model"], v["dtype"], v["batch"]):
                out.append(
                    {
                        "model": v["model"],
                        "dtype": v["dtype"],
                        "batch": v["batch"],
                        "vitkit_provider": v["provider"],
                        "versus": p["runner"],
                        "images_per_s_ratio": round(v["images_per_s"] / p["images_per_s"], 3),
                        "p50_ratio": round(v["p50_ms"] / p["p50_ms"], 3),
                    }
                )
    return out


def environment():
    env = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine()}
    for name in ["onnxruntime", "torch", "transformers", "timm"]:
        try:
            module = __import__(name)
            env[name] = getattr(module, "__version__", "?")
        except ImportError:
            env[name] = None
    try:
        import onnxruntime as ort

        env["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(0)
            env["cuda"] = torch.version.cuda
    except ImportError:
        pass
    try:
        import pynvml

        pynvml.nvmlInit()
        env["driver"] = pynvml.nvmlSystemGetDriverVersion()
    except Exception:
        pass
    return env


def save(results, args):
    results["ratios"] = ratios(results["rows"])
    tmp = os.path.join(args.out, "gpu-results.json.partial")
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, os.path.join(args.out, "gpu-results.json"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skeletons", required=True, help="folder of the exported <model>-<dtype>/ folders")
    parser.add_argument("--out", required=True, help="where gpu-results.json goes")
    parser.add_argument("--models", help="comma-separated subset of folder names")
    parser.add_argument("--batches", help="comma-separated batch sizes instead of each manifest's")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cpu", action="store_true", help="onnxruntime's CPU provider and torch on CPU (the smoke test)")
    parser.add_argument("--tensorrt", action="store_true", help="also TensorRT, where the build has it (slow to build engines)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--budget-s", type=float, default=480, help="stop starting new models after this many seconds")
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")] if args.batches else None
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    results = {"environment": environment(), "args": vars(args), "rows": [], "skipped": [], "filled": []}
    log(json.dumps(results["environment"]))
    memory = GpuMemory()
    folders = sorted(d for d in os.listdir(args.skeletons) if os.path.exists(os.path.join(args.skeletons, d, "manifest.json")))
    if args.models:
        folders = [d for d in folders if d in args.models.split(",")]
    for name in folders:
        if time.perf_counter() - started > args.budget_s:
            results["skipped"].append({"model": name, "reason": f"out of the {args.budget_s} s budget"})
            continue
        folder = os.path.join(args.skeletons, name)
        with open(os.path.join(folder, "manifest.json")) as f:
            manifest = json.load(f)
        try:
            fill_weights(folder, manifest)
            results["filled"].append({"folder": name, "bytes": manifest["data"]["bytes"], "tensors": len(manifest["tensors"])})
            run_onnxruntime(folder, manifest, args, results, memory)
            if not args.no_torch:
                run_pytorch(folder, manifest, args, results)
        except Exception:
            results["skipped"].append({"model": name, "reason": traceback.format_exc().splitlines()[-1]})
        save(results, args)
    results["duration_s"] = round(time.perf_counter() - started, 1)
    save(results, args)
    log(f"wrote {os.path.join(args.out, 'gpu-results.json')} ({len(results['rows'])} rows, {len(results['skipped'])} skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
