#!/usr/bin/env python3
"""Reads a `tessera train --tensorboard DIR` run back with TensorBoard's own
code: its record reader (which checks both masked CRC32Cs of every record),
its Event protobuf, and the EventAccumulator that `tensorboard --logdir`
uses, and compares every scalar with the run's metrics log (--metrics);
then a run with --experts 4 the same way for the expert-load tags (moe/*).

Usage: scripts/check_tensorboard.py [path/to/tessera]   (default .build/release/tessera)
Skips with one line when the tensorboard package is not installed."""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow
except ImportError:
    print("check_tensorboard: skipped (the Python package tensorboard is not installed; pip install tensorboard)")
    sys.exit(0)

TESSERA = sys.argv[1] if len(sys.argv) > 1 else ".build/release/tessera"


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def main():
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("check_tensorboard: FAILED: " + what)

    with tempfile.TemporaryDirectory() as tmp:
        logdir, metrics = os.path.join(tmp, "tb"), os.path.join(tmp, "metrics.jsonl")
        subprocess.run([TESSERA, "train", "--steps", "4", "--log-every", "1", "--eval-every", "2",
                        "--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "32", "--batch", "4",
                        "--sample", "0", "--quiet", "--tensorboard", logdir, "--metrics", metrics], check=True)
        files = os.listdir(logdir)
        check(len(files) == 1 and files[0].startswith("events.out.tfevents."), "one events file, got %s" % files)
        path = os.path.join(logdir, files[0])

        # TensorBoard's record reader: raises DataLossError on a bad CRC.
        reader = pywrap_tensorflow.PyRecordReader_New(path, 0, None, None)
        events = []
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:
                break
            events.append(event_pb2.Event.FromString(reader.record()))
        check(events[0].file_version == "brain.Event:2", "first record is the file version")

        logged = [json.loads(line) for line in open(metrics)]
        acc = EventAccumulator(logdir, size_guidance={"scalars": 0})
        acc.Reload()
        tags = set(acc.Tags()["scalars"])
        expected = {"train/loss": "loss", "train/learning_rate": "lr", "train/gradient_norm": "grad_norm",
                    "speed/tokens_per_second": "tokens_per_s", "speed/step_seconds": "step_seconds",
                    "speed/mfu": "mfu", "train/validation_loss": "val_loss"}
        for tag, key in expected.items():
            check(tag in tags, "tag %s in %s" % (tag, sorted(tags)))
            if tag not in tags:
                continue
            read = {e.step: e.value for e in acc.Scalars(tag)}
            want = {m["step"]: f32(m[key]) for m in logged if m.get(key) is not None}
            check(read == want, "%s: read %s, metrics log %s" % (tag, read, want))
        check(any(t.startswith("memory/") for t in tags), "memory scalars present: %s" % sorted(tags))

        # A mixture-of-experts run: the expert-load tags, read back the same way and compared with its log.
        logdir, metrics = os.path.join(tmp, "tb-experts"), os.path.join(tmp, "metrics-experts.jsonl")
        subprocess.run([TESSERA, "train", "--steps", "3", "--log-every", "1", "--experts", "4",
                        "--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "32", "--batch", "4",
                        "--sample", "0", "--quiet", "--tensorboard", logdir, "--metrics", metrics], check=True)
        logged = [json.loads(line) for line in open(metrics)]
        acc = EventAccumulator(logdir, size_guidance={"scalars": 0})
        acc.Reload()
        tags = set(acc.Tags()["scalars"])
        experts = {"moe/load_max_over_mean": "moe_max_over_mean", "moe/dropped_fraction": "moe_dropped",
                   "moe/aux_loss": "moe_aux_loss", "moe/z_loss": "moe_z_loss"}
        for tag, key in experts.items():
            check(tag in tags, "tag %s in %s" % (tag, sorted(tags)))
            if tag not in tags:
                continue
            read = {e.step: e.value for e in acc.Scalars(tag)}
            want = {m["step"]: f32(m[key]) for m in logged if m.get(key) is not None}
            check(len(want) == 3 and read == want, "%s: read %s, metrics log %s" % (tag, read, want))
        loads = [e.value for e in acc.Scalars("moe/load_max_over_mean")] if "moe/load_max_over_mean" in tags else []
        # The busiest expert's share over the mean is at least 1 and at most the number of experts.
        check(loads and all(1 <= v <= 4 for v in loads), "moe/load_max_over_mean in [1, 4]: %s" % loads)
    print("check_tensorboard: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
