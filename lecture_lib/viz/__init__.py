"""Presentation per part: plots and widget builders over lecture_lib.experiments."""
