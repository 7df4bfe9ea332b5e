#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: 3 attendees in the VEVENT."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genlimit import limit_message  # noqa: E402

limit_message("attendees", 3)
