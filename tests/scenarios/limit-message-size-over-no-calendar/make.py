#!/usr/bin/env python3
"""Prints a generated scenario message on stdout: an ordinary text message
(no calendar part, no calendar type named anywhere) of 3001 bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import HEAD, out  # noqa: E402


def build(pad):
    return (HEAD % ("Holiday photos", "photos") + "Content-Type: text/plain\n\n"
            + "x" * pad + "\n")


out(build(3001 - len(build(0).encode())))
