"""How a configuration encrypts, and what its keys must say for MailPace: the port policy and
one algorithm for every family's encryption keys, config keys and URL parts alike ("slots")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mailmigrate import providers
from mailmigrate.model import Mode
from mailmigrate.rules import UNKNOWN, Family, ModeSetting


def target_port_mode(port: int, mode: Mode, forced: int | None) -> tuple[int, Mode]:
    """The port policy of product.md."""
    if forced is not None:
        return forced, Mode.IMPLICIT if forced == providers.MAILPACE_IMPLICIT_PORT else Mode.STARTTLS
    if mode is Mode.IMPLICIT:
        return providers.MAILPACE_IMPLICIT_PORT, Mode.IMPLICIT
    if mode is Mode.STARTTLS:
        return (port if port in providers.MAILPACE_STARTTLS_PORTS else 587), Mode.STARTTLS
    return (port if port in (25, 2525) else 587), Mode.STARTTLS


@dataclass(frozen=True)
class Slot:
    spec: ModeSetting
    present: bool
    value: str | None  # effective value (None when missing)


@dataclass(frozen=True)
class ModeReading:
    mode: Mode | None  # None: conflicting indications
    unknown: tuple[str, ...] = ()  # slots whose value the rule does not know


def read_mode(family: Family, slots: Mapping[str, Slot], port: int) -> ModeReading:
    """Strongest indication wins (implicit > STARTTLS > none); two explicit, contradicting
    indications (STARTTLS and implicit both written in the file) are a conflict."""
    unknown = tuple(n for n, s in slots.items() if s.spec.indication(s.value, port) is UNKNOWN)
    if family.port_465_implicit and port == providers.MAILPACE_IMPLICIT_PORT:
        return ModeReading(Mode.IMPLICIT, unknown)
    said: set[Mode] = set()
    written: set[Mode] = set()
    for slot in slots.values():
        indication = slot.spec.indication(slot.value, port)
        if isinstance(indication, Mode):
            said.add(indication)
            if slot.present:
                written.add(indication)
    if {Mode.IMPLICIT, Mode.STARTTLS} <= written:
        return ModeReading(None, unknown)
    for mode in (Mode.IMPLICIT, Mode.STARTTLS, Mode.NONE):
        if mode in said:
            return ModeReading(mode, unknown)
    if family.encryption_default is None:
        auto = Mode.IMPLICIT if port == providers.MAILPACE_IMPLICIT_PORT else Mode.STARTTLS
        return ModeReading(auto, unknown)
    return ModeReading(family.encryption_default, unknown)


def plan_slots(
    family: Family, slots: Mapping[str, Slot], target: Mode, port: int
) -> dict[str, str | bool]:
    """New values (by slot name) that make the slots say `target` on `port`."""
    chosen: dict[str, str | bool] = {}
    for name, slot in slots.items():
        indication = slot.spec.indication(slot.value, port)
        if slot.spec.compatible(indication, target):
            continue
        if not slot.present and slot.spec.default is None:
            continue
        value = slot.spec.value_for(target, must_indicate=False)
        if value is not None:
            chosen[name] = value

    def after() -> dict[str, Slot]:
        return {
            n: Slot(s.spec, s.present or n in chosen, _as_text(chosen[n]) if n in chosen else s.value)
            for n, s in slots.items()
        }

    if read_mode(family, after(), port).mode is not target:
        # Nothing says `target` yet (Django without EMAIL_USE_TLS): set the first key that can.
        ordered = [n for n, s in slots.items() if s.present] + [n for n, s in slots.items() if not s.present]
        for name in ordered:
            value = slots[name].spec.value_for(target, must_indicate=True)
            if value is not None:
                chosen[name] = value
                if read_mode(family, after(), port).mode is target:
                    break
    return chosen


def _as_text(value: str | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else value
