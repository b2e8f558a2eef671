"""Warp started once, by whichever Warp kernel module is used first: its warnings kept, its greeting
and per-module load lines (info) not."""

import functools

import warp as wp


@functools.cache
def init() -> None:
    wp.config.log_level = wp.LOG_WARNING
    wp.init()
