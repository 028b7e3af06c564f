#!/usr/bin/env python3
"""Runs a peer benchmark script with its clock measuring CPU time instead of
wall-clock time: time.perf_counter is replaced by time.process_time (CPU
seconds of this process, all threads) before the script runs, so the step
times it prints are CPU seconds and its tokens/s are tokens per CPU second.

On a shared machine wall-clock rates measure the other jobs as much as the
engine; `tessera bench train` prints its step's CPU time beside the wall time
(step-cpu=), and this puts the peer on the same clock.

    python scripts/peers/cpu_clock.py ../shared/peers/torch_llama.py --threads 1 --steps 3
"""
import runpy, sys, time

if len(sys.argv) < 2:
    sys.exit("usage: cpu_clock.py SCRIPT [ARGS...]")
time.perf_counter = time.process_time
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
