#!/usr/bin/env python3
"""Regenerate docs/diagnostics.md, the error index.

The index is made in Rust, by the test `the_error_index_is_up_to_date` in
tests/diagnostics.rs: the explanations (and the run-time codes' examples) are the
registry in crates/diagnostics/src/codes.rs, the examples the cases under
tests/diagnostics/. The test checks the file; with FLOW_BLESS=1 it rewrites it. This
script runs it that way, from anywhere in the repository.
"""
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
env = dict(os.environ, FLOW_BLESS="1")
sys.exit(subprocess.call(
    ["cargo", "test", "--test", "diagnostics", "the_error_index_is_up_to_date"],
    cwd=root, env=env))
