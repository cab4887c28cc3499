"""The synthetic A-share market: the embedded default dataset of every strategy, sweep, example and test.

The market factor is the real CSI 300 (embedded data); industries, stocks, sub-industries, flows, futures,
options, margin, northbound, funds and ETFs are simulated around it in the layout of ``docs/data.md`` (section
"The synthetic market" documents every model and parameter). No signal has planted predictive power unless an
``effects`` entry plants one.

* :func:`generate` -- build a :class:`~engine.data.panel.Dataset` in memory.
* :func:`load_synthetic` -- the same, through an on-disk parquet cache (``engine.data.synthetic.cache``).
* ``python -m engine.data synth --out DIR`` -- write one to disk.
"""
from engine.data.synthetic.cache import load_synthetic
from engine.data.synthetic.effects import KNOWN_EFFECTS
from engine.data.synthetic.generator import (DESCRIPTION, FIRST_DAY, GENERATOR_VERSION, LAST_DAY, SIZES, generate,
                                             resolve_params)

__all__ = ["DESCRIPTION", "FIRST_DAY", "GENERATOR_VERSION", "KNOWN_EFFECTS", "LAST_DAY", "SIZES", "generate",
           "load_synthetic", "resolve_params"]
