"""Signal generators. YAML names a key of :data:`REGISTRY`; nothing is loaded by string path."""
from engine.signals.base import SignalResult, SignalSpec
from engine.signals.basic import HOLD, MA_TIMING, WEIGHTS_FILE

REGISTRY: dict[str, SignalSpec] = {spec.name: spec for spec in (HOLD, MA_TIMING, WEIGHTS_FILE)}

__all__ = ["REGISTRY", "SignalResult", "SignalSpec"]
