"""lecture_lib: the algorithms, model, experiments, widgets and grader of Lecture 26.

Layers (each imports only from the layers above it):

1. algorithms  - quant, fp8, kvcache, distill, speculative, metrics, slo, serving, resilience, ...
2. model       - tinylm (a character-level GPT trained on CPython's pydoc topics)
3. experiments - functions that run a measurement and return data
4. presentation- plots and widgets, thin layers over 1-3
5. grading     - lecture_lib.grade (checks per part, the ``grade`` command)
"""

__version__ = "0.1.0"
