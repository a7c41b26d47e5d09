"""Measurement functions per part: run an experiment, return data (no plotting, no printing)."""
