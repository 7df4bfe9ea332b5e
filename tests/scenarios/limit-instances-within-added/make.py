#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: a daily rule with COUNT=5."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genlimit import limit_message  # noqa: E402

limit_message("instances", 5)
