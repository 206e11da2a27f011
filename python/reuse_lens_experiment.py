"""Reuse Lens replacement-experiment driver, run by Reuse Lens with the user's own Python.

It measures the first condition of Wang et al. (2020): does reusing the source's parameters
keep the target's performance? The target model is built once from the user's factory, then
evaluated on the user's data as is (baseline) and once per experiment with some of its
tensors replaced by the source's (each a load_state_dict of a saved copy).

Input: one JSON object on stdin (the plan Reuse Lens writes, src/core/experiments/plan.ts):
  {"source", "target": checkpoint paths, "model", "data": "FILE.py:CALLABLE",
   "metric": "auto"|"accuracy"|"loss", "device": "auto"|"cpu"|"cuda", "prefixes": [...],
   "experiments": [{"id", "replace": [[source tensor, target tensor], ...]}]}
Output: JSON lines on stdout: {"type": "progress", ...} per evaluation, then one
{"type": "result", ...} or {"type": "error", "message"} (exit 1).

Safety: checkpoints are loaded with torch.load(weights_only=True) (safetensors by its header),
so nothing in a checkpoint runs; the only code imported is the two modules the user named.
"""
import importlib.util
import json
import os
import re
import signal
import struct
import sys
import threading
import time
import traceback

# Where the weights usually are in a checkpoint dict, in the order Reuse Lens looks for them
# (src/core/formats/pytorch/pytorchFlatten.ts): the names here must be the ones in the report.
MODEL_KEYS = ["state_dict", "model_state_dict", "model", "net", "network", "module", "ema", "model_ema", "params", "weights"]
TRAINING_KEYS = re.compile(r"^(optim(izer)?s?(_states?(_dicts?)?)?|(lr_)?schedulers?(_states?(_dicts?)?)?|scaler|amp|grad_scaler)$", re.I)
# Keys that wrap a whole state dict (src/core/analysis/matching.ts WRAPPERS).
WRAPPERS = ["state_dict", "model_state_dict", "model", "ema", "net", "network", "params", "weights", "module"]


class DriverError(Exception):
    """A problem with the user's input, said in one line."""


# The protocol's stream: the user's code may print, so its print()s go to stderr (see main).
PROTOCOL = sys.stdout


def emit(obj):
    PROTOCOL.write(json.dumps(obj) + "\n")
    PROTOCOL.flush()


def last_line(exc):
    """The last line of an exception's traceback: what Python itself would print last."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


# ---------------------------------------------------------------- user code

def load_callable(spec, what):
    """`FILE.py:CALLABLE` -> the callable, importing FILE.py (its folder first on sys.path)."""
    if ":" not in spec:
        raise DriverError(f"{what} must be FILE.py:CALLABLE, got '{spec}'")
    file, name = spec.rsplit(":", 1)
    path = os.path.abspath(file)
    if not os.path.isfile(path):
        raise DriverError(f"{what} {spec}: no file {file} in {os.getcwd()}")
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = os.path.splitext(os.path.basename(path))[0]
    module = sys.modules.get(module_name)
    if module is None or os.path.abspath(getattr(module, "__file__", "") or "") != path:
        try:
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
        except BaseException as e:  # noqa: BLE001 - SystemExit from a script is a failed import too
            sys.modules.pop(module_name, None)
            raise DriverError(f"{what} {spec}: {file} could not be imported: {last_line(e)}") from None
    target = module
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise DriverError(f"{what} {spec}: {file} has no '{name}'")
    if not callable(target):
        raise DriverError(f"{what} {spec}: '{name}' is not callable")
    return target


def call_factory(fn, spec, what):
    try:
        return fn()
    except BaseException as e:  # noqa: BLE001
        raise DriverError(f"{what} {spec} failed: {last_line(e)}") from None


# ---------------------------------------------------------------- checkpoints

SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                      "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


def load_safetensors(torch, path):
    """A safetensors file by its JSON header: data only, nothing to execute."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            dtype = SAFETENSORS_DTYPES.get(info["dtype"])
            if dtype is None:
                continue
            start, end = info["data_offsets"]
            f.seek(base + start)
            raw = bytearray(f.read(end - start))
            t = torch.frombuffer(raw, dtype=getattr(torch, dtype)) if raw else torch.empty(0, dtype=getattr(torch, dtype))
            out[name] = t.reshape(info["shape"])
    return out


def flatten(torch, obj):
    """Tensors of a checkpoint by dotted name, named as Reuse Lens names them in its report."""
    out = {}

    def walk(v, prefix):
        if isinstance(v, torch.Tensor):
            out.setdefault(prefix or "tensor", v)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                walk(x, f"{prefix}.{i}" if prefix else str(i))

    def has_tensors(v):
        if isinstance(v, torch.Tensor):
            return True
        if isinstance(v, dict):
            return any(has_tensors(x) for x in v.values())
        if isinstance(v, (list, tuple)):
            return any(has_tensors(x) for x in v)
        return False

    def is_optimizer_state(v):
        return isinstance(v, dict) and "state" in v and "param_groups" in v

    if not isinstance(obj, dict):
        walk(obj, "")
        return out
    if not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for k in MODEL_KEYS:
            v = obj.get(k)
            if isinstance(v, (dict, list, tuple)) and has_tensors(v):
                walk(v, "")
                return out
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor) and (TRAINING_KEYS.match(str(k)) or is_optimizer_state(v)):
            continue
        walk(v, str(k))
    return out


def load_checkpoint(torch, path):
    if not os.path.isfile(path):
        raise DriverError(f"{path}: no such file")
    if path.endswith(".safetensors"):
        try:
            return load_safetensors(torch, path)
        except Exception as e:  # noqa: BLE001
            raise DriverError(f"{path}: not a readable safetensors file: {last_line(e)}") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise DriverError(f"{path}: torch.load(weights_only=True) refused it: {last_line(e)}") from None
    tensors = flatten(torch, obj)
    if not tensors:
        raise DriverError(f"{path}: holds no tensors")
    return tensors


def strip(name, prefixes):
    changed = True
    while changed:
        changed = False
        for p in prefixes:
            if p and name.startswith(p) and len(name) > len(p):
                name = name[len(p):]
                changed = True
    return name


def wrapper_chain(names):
    """Wrapper keys under which every name lies (`state_dict.model.x` -> ['state_dict.', 'model.'])."""
    chain, names = [], list(names)
    while names:
        w = next((w + "." for w in WRAPPERS if all(n.startswith(w + ".") and len(n) > len(w) + 1 for n in names)), None)
        if w is None:
            break
        chain.append(w)
        names = [n[len(w):] for n in names]
    return chain


class KeyMap:
    """Checkpoint tensor names -> the model's state_dict keys: exact, else after stripping the
    wrappers (`state_dict.`) and prefix rules (`module.`, `_orig_mod.`) from both sides."""

    def __init__(self, model_keys, checkpoint_names, prefixes):
        self.keys = set(model_keys)
        self.prefixes = list(prefixes)
        self.wrappers = wrapper_chain(checkpoint_names)
        self.model_wrappers = wrapper_chain(model_keys)
        self.by_canonical = {}
        for k in model_keys:
            self.by_canonical.setdefault(self.canonical(k, self.model_wrappers), k)

    def canonical(self, name, wrappers):
        return strip(strip(name, wrappers), self.prefixes)

    def __call__(self, name):
        if name in self.keys:
            return name
        return self.by_canonical.get(self.canonical(name, self.wrappers))


def listing(names, limit=8):
    names = sorted(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def target_state(model, target, target_path, prefixes):
    """The model's full state dict with the target checkpoint's values; the checkpoint must
    cover the model exactly (names may differ by wrappers and prefixes)."""
    own = model.state_dict()
    keymap = KeyMap(list(own.keys()), list(target.keys()), prefixes)
    state, unexpected, covered, mismatched = {}, [], set(), []
    for name, value in target.items():
        key = keymap(name)
        if key is None:
            unexpected.append(name)
            continue
        if tuple(value.shape) != tuple(own[key].shape):
            mismatched.append(f"{name} {tuple(value.shape)} vs model {key} {tuple(own[key].shape)}")
            continue
        state[key] = value.to(dtype=own[key].dtype).clone()
        covered.add(key)
    # num_batches_tracked counters are not weights: a checkpoint without them (safetensors
    # exports often drop them) still fits the model.
    missing = [k for k in own if k not in covered and not k.endswith("num_batches_tracked")]
    problems = []
    if missing:
        problems.append(f"missing keys (the model has them, the checkpoint does not): {listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys (in the checkpoint, not in the model): {listing(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches: {listing(mismatched, 4)}")
    if problems:
        raise DriverError(f"the model does not take {target_path}'s tensors: " + "; ".join(problems))
    for k in own:
        if k not in state:
            state[k] = own[k].clone()
    return state, keymap


# ---------------------------------------------------------------- evaluation

def split_batch(batch, spec):
    if isinstance(batch, dict):
        for xk, yk in (("input", "target"), ("inputs", "targets"), ("x", "y"), ("image", "label"), ("images", "labels")):
            if xk in batch and yk in batch:
                return batch[xk], batch[yk]
        raise DriverError(f"data {spec}: a batch is a dict without inputs and targets ({listing(map(str, batch.keys()), 6)})")
    if isinstance(batch, (list, tuple)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise DriverError(f"data {spec}: each batch must be (inputs, targets), got {type(batch).__name__}")


def to_device(x, device):
    if hasattr(x, "to"):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, device) for v in x)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    return x


def scores_of(out):
    if isinstance(out, dict):
        out = out.get("logits", out.get("out", next(iter(out.values()), None)))
    if isinstance(out, (list, tuple)) and out:
        out = out[0]
    return out


def choose_metric(torch, out, y, requested):
    """accuracy when the model returns class scores and the targets are integer labels; else the loss."""
    integer = not (torch.is_floating_point(y) or torch.is_complex(y))
    class_scores = torch.is_floating_point(out) and out.dim() == y.dim() + 1 and out.shape[1] > 1 \
        and out.shape[0] == y.shape[0] and tuple(out.shape[2:]) == tuple(y.shape[1:])
    if requested == "accuracy" and not (integer and class_scores):
        raise DriverError(f"accuracy needs class scores [N, C, ...] and integer labels [N, ...]; the model returned "
                          f"{tuple(out.shape)} for labels {tuple(y.shape)} of {y.dtype}; use the loss metric")
    if requested == "accuracy" or (requested == "auto" and integer and class_scores):
        return {"name": "accuracy", "higherIsBetter": True, "unit": "%"}
    if integer and class_scores:
        return {"name": "loss", "higherIsBetter": False, "loss": "cross-entropy"}
    if tuple(out.shape) != tuple(y.shape):
        raise DriverError(f"the model returned {tuple(out.shape)} for targets {tuple(y.shape)}: neither class scores "
                          f"for labels nor a prediction of the targets' shape (MSE)")
    return {"name": "loss", "higherIsBetter": False, "loss": "mse"}


def evaluate(torch, model, batches, spec, device, requested, metric):
    """One pass over the data; returns (value, samples, metric)."""
    f = torch.nn.functional
    total, score = 0, 0.0
    # inference_mode (torch >= 1.9) skips the autograd bookkeeping no_grad still does.
    with getattr(torch, "inference_mode", torch.no_grad)():
        for batch in batches:
            x, y = split_batch(batch, spec)
            x, y = to_device(x, device), to_device(y, device)
            try:
                out = model(**x) if isinstance(x, dict) else model(x)
            except Exception as e:  # noqa: BLE001
                raise DriverError(f"the model failed on a batch of {spec}: {last_line(e)}") from None
            out = scores_of(out)
            if not isinstance(out, torch.Tensor) or not isinstance(y, torch.Tensor):
                raise DriverError(f"the model must return a tensor and {spec} yield tensor targets")
            if metric is None:
                metric = choose_metric(torch, out, y, requested)
            if metric["name"] == "accuracy":
                score += (out.argmax(1) == y).sum().item()
                total += y.numel()
            elif metric["loss"] == "cross-entropy":
                score += f.cross_entropy(out.float(), y.long(), reduction="sum").item()
                total += y.numel()
            else:
                score += f.mse_loss(out.float(), y.float(), reduction="sum").item()
                total += y.numel()
    if total == 0:
        raise DriverError(f"data {spec} yielded nothing: no batch, or only empty ones")
    value = score / total * (100.0 if metric["name"] == "accuracy" else 1.0)
    return value, total, metric


def materialise(data, spec):
    """Data the driver can pass over again and again: a one-shot iterator is kept as a list."""
    if data is None:
        raise DriverError(f"data {spec} returned None")
    if isinstance(data, (list, tuple)) and len(data) == 2 and all(hasattr(v, "shape") for v in data) \
            and len(data[0]) == len(data[1]) and getattr(data[0], "dim", lambda: 0)() >= 1:
        return [tuple(data)]  # (inputs, targets) tensors: one batch
    try:
        it = iter(data)
    except TypeError:
        raise DriverError(f"data {spec} returned {type(data).__name__}, which is not iterable") from None
    if it is data:
        return list(it)
    return data


# ---------------------------------------------------------------- main

def cpu_threads(torch):
    """Intra-op threads for a CPU run: torch's default (one per core), but no more than the cores
    that are idle. On a busy machine torch's threads wait for each other at every op: at load 12
    on 2 cores an evaluation of the demo took 2.3x the wall time with 2 threads as with 1
    (bench/experiment.mjs). A user's OMP_NUM_THREADS / MKL_NUM_THREADS is left as set."""
    if "OMP_NUM_THREADS" in os.environ or "MKL_NUM_THREADS" in os.environ or not hasattr(os, "getloadavg"):
        return
    try:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        idle = int(cores - os.getloadavg()[0] + 0.5)
    except OSError:
        return
    # (torch.get_num_threads() may say 1 until torch's thread pool starts: compare with the cores.)
    if idle < cores:
        torch.set_num_threads(max(1, idle))


def run(plan):
    try:
        import torch
    except ImportError:
        raise DriverError(f"{sys.executable} has no torch; pick another interpreter") from None
    sys.dont_write_bytecode = True  # leave no __pycache__ in the user's folders
    device = plan.get("device") or "auto"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise DriverError("device cuda asked for, but this torch sees no CUDA device")
    if device == "cpu":
        cpu_threads(torch)
    prefixes = plan.get("prefixes") or []
    experiments = plan.get("experiments") or []
    total = 1 + len(experiments)
    started = time.monotonic()

    source = load_checkpoint(torch, plan["source"])
    target = load_checkpoint(torch, plan["target"])
    model = call_factory(load_callable(plan["model"], "model factory"), plan["model"], "model factory")
    if not isinstance(model, torch.nn.Module):
        raise DriverError(f"model factory {plan['model']} returned {type(model).__name__}, not a torch.nn.Module")
    data = materialise(call_factory(load_callable(plan["data"], "data factory"), plan["data"], "data factory"), plan["data"])
    model.to(device)
    model.eval()

    base, keymap = target_state(model, target, plan["target"], prefixes)
    model.load_state_dict(base)
    emit({"type": "progress", "done": 0, "total": total, "label": "building the model", "elapsed": time.monotonic() - started})
    eval_started = time.monotonic()
    baseline, samples, metric = evaluate(torch, model, data, plan["data"], device, plan.get("metric") or "auto", None)

    def progress(done, label):
        per = (time.monotonic() - eval_started) / done
        emit({"type": "progress", "done": done, "total": total, "label": label,
              "elapsed": time.monotonic() - started, "eta": per * (total - done)})

    progress(1, "baseline")
    values = {}
    for i, ex in enumerate(experiments):
        state = dict(base)
        same = True
        for src_name, tgt_name in ex["replace"]:
            if src_name not in source:
                raise DriverError(f"{plan['source']}: no tensor {src_name}")
            key = keymap(tgt_name)
            if key is None:
                raise DriverError(f"{plan['target']}: tensor {tgt_name} is not in the model")
            value = source[src_name]
            if tuple(value.shape) != tuple(base[key].shape):
                raise DriverError(f"{src_name} {tuple(value.shape)} does not fit the model's {key} {tuple(base[key].shape)}")
            state[key] = value.to(dtype=base[key].dtype)
            same = same and torch.equal(state[key], base[key].to(state[key].device))
        if same:
            # Nothing changes (a layer frozen while fine-tuning): the model is the baseline's.
            values[ex["id"]] = baseline
            progress(i + 2, ex.get("label") or ex["id"])
            continue
        model.load_state_dict(state)
        values[ex["id"]] = evaluate(torch, model, data, plan["data"], device, plan.get("metric") or "auto", metric)[0]
        progress(i + 2, ex.get("label") or ex["id"])
    model.load_state_dict(base)
    emit({"type": "result", "metric": metric, "samples": samples, "device": str(device), "baseline": baseline,
          "values": values, "torch": torch.__version__, "python": sys.executable})


def end_with_parent():
    """Ends this run (and whatever the user's code started in its process group, such as
    DataLoader workers) when the Reuse Lens process that started it is gone. Cancel kills the
    group itself; but a process killed outright (the extension ends a hung worker with SIGKILL)
    runs no handler, and the user's evaluation would go on with no one to read its result."""
    parent = os.getppid()
    if sys.platform == "win32" or parent <= 1:
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        if os.getpgrp() == os.getpid():  # our own group (started detached): take it all
            try:
                os.killpg(os.getpgrp(), signal.SIGKILL)
            except OSError:
                pass
        os._exit(137)

    threading.Thread(target=watch, name="reuse-lens-parent-watch", daemon=True).start()


def main():
    sys.stdout = sys.stderr
    end_with_parent()
    try:
        plan = json.loads(sys.stdin.read())
        run(plan)
    except DriverError as e:
        emit({"type": "error", "message": str(e)})
        return 1
    except KeyboardInterrupt:
        return 130
    except BaseException as e:  # noqa: BLE001 - a bug of ours, or the user's code exiting
        emit({"type": "error", "message": f"experiment failed: {last_line(e)}", "traceback": traceback.format_exc()})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
