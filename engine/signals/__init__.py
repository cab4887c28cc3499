"""Signal generators. YAML names a key of :data:`REGISTRY`; nothing is loaded by string path."""
from engine.signals import crowding, dashboard_timing, industry_common, sentiment, turnover_rotation
from engine.signals.xinbanjun import signal as xinbanjun
from engine.signals.base import SignalResult, SignalSpec
from engine.signals.basic import HOLD, MA_TIMING, WEIGHTS_FILE

REGISTRY: dict[str, SignalSpec] = {
    spec.name: spec
    for spec in (
        HOLD,
        MA_TIMING,
        WEIGHTS_FILE,
        sentiment.SPEC,
        turnover_rotation.SPEC,
        crowding.SPEC,
        crowding.SPEC_ROTATION_CROWDING,
        industry_common.SPEC_EQUAL_WEIGHT,
        dashboard_timing.SPEC,
        xinbanjun.SPEC,
    )
}

__all__ = ["REGISTRY", "SignalResult", "SignalSpec"]
