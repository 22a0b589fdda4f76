"""Launch templates of a Fleet / ASG request: validated references, one per architecture.

One launch template boots one architecture (its AMI is x86_64 or arm64), so a ranking holding
both gets one template per architecture, given as `x86_64=lt-…,arm64=my-arm-template`; a single
unkeyed template is accepted only for a single-architecture ranking. A reference is either a
launch template ID (`lt-` and 17 hex digits) or a name (3-128 characters of
`[a-zA-Z0-9().-/_]`, the CreateLaunchTemplate constraint in botocore's EC2 model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from selector.outputs.errors import OutputError

__all__ = [
    "ARCHES",
    "LaunchTemplate",
    "LaunchTemplates",
    "check_template_ref",
    "check_template_version",
    "launch_templates",
    "parse_launch_templates",
]

# The ranking's architecture names; Kubernetes spells x86_64 `amd64`, accepted as an alias.
ARCHES: Final = ("x86_64", "arm64")
ARCH_ALIASES: Final = {"amd64": "x86_64", "aarch64": "arm64"}
# EC2 resource IDs since 2018: the prefix and 17 lowercase hex digits (lt-0abcd290751193123).
TEMPLATE_ID: Final = re.compile(r"lt-[0-9a-f]{17}")
# botocore ec2 LaunchTemplateName: min 3, max 128, pattern [a-zA-Z0-9\(\)\.\-/_]+.
TEMPLATE_NAME: Final = re.compile(r"[a-zA-Z0-9().\-/_]{3,128}")
# A version number, or the template's latest / default version.
TEMPLATE_VERSION: Final = re.compile(r"\$Latest|\$Default|[1-9][0-9]{0,17}")
# Longest value quoted back in an error.
MAX_QUOTED: Final = 60


def _quote(value: str) -> str:
    return repr(value if len(value) <= MAX_QUOTED else value[:MAX_QUOTED] + "…")


def check_template_ref(ref: str) -> str:
    """REF if it is a launch template ID or name, else a one-line `OutputError`."""
    if ref.startswith("lt-"):
        if not TEMPLATE_ID.fullmatch(ref):
            raise OutputError(
                "launch template",
                f"{_quote(ref)} is not a launch template ID (lt- and 17 hex digits, "
                "e.g. lt-0abcd290751193123; a value starting with lt- is read as an ID)",
            )
    elif not TEMPLATE_NAME.fullmatch(ref):
        raise OutputError(
            "launch template",
            f"{_quote(ref)} is neither an ID (lt- and 17 hex digits) nor a name "
            "(3-128 characters of letters, digits and ( ) . - / _)",
        )
    return ref


def check_template_version(version: str) -> str:
    """VERSION if it is a version number, $Latest or $Default, else a one-line `OutputError`."""
    if not TEMPLATE_VERSION.fullmatch(version):
        raise OutputError(
            "launch template version",
            f"{_quote(version)} must be a version number, $Latest or $Default",
        )
    return version


@dataclass(frozen=True, slots=True)
class LaunchTemplate:
    """A validated launch template reference (ID or name) and version."""

    ref: str
    version: str = "$Latest"

    def __post_init__(self) -> None:
        check_template_ref(self.ref)
        check_template_version(self.version)

    @property
    def specification(self) -> dict[str, str]:
        """`{LaunchTemplateId | LaunchTemplateName: ref, Version: version}` for EC2 / ASG."""
        key = "LaunchTemplateId" if self.ref.startswith("lt-") else "LaunchTemplateName"
        return {key: self.ref, "Version": self.version}


@dataclass(frozen=True, slots=True)
class LaunchTemplates:
    """One template for a single-architecture ranking, or one per architecture."""

    single: LaunchTemplate | None = None
    per_arch: tuple[tuple[str, LaunchTemplate], ...] = ()

    def __post_init__(self) -> None:
        if (self.single is None) == (not self.per_arch):
            raise OutputError(
                "launch template",
                "give one launch template, or one per architecture (x86_64=…,arm64=…), not both",
            )
        arches = [a for a, _ in self.per_arch]
        for arch in arches:
            if arch not in ARCHES:
                raise OutputError(
                    "launch template", f"unknown architecture {_quote(arch)}; one of {list(ARCHES)}"
                )
        if len(set(arches)) != len(arches):
            raise OutputError("launch template", "an architecture is given twice")

    def for_arches(self, ranked: Sequence[tuple[str, str]]) -> dict[str, LaunchTemplate]:
        """The template of every architecture among RANKED (type, arch) pairs, or a one-line
        error naming the architecture (and a few of its types) left without one."""
        by_arch: dict[str, list[str]] = {}
        for itype, arch in ranked:
            by_arch.setdefault(arch, []).append(itype)
        if self.single is not None:
            if len(by_arch) > 1:
                listed = " and ".join(
                    f"{arch} ({_few(types)})" for arch, types in sorted(by_arch.items())
                )
                raise OutputError(
                    "fleet",
                    f"the ranking holds {listed} types and one launch template cannot boot both: "
                    "give one per architecture (x86_64=…,arm64=…) or set requirements.arch",
                )
            return dict.fromkeys(by_arch, self.single)
        given = dict(self.per_arch)
        for arch, types in sorted(by_arch.items()):
            if arch not in given:
                others = [a for a in sorted(by_arch) if a != arch]
                hint = f" or set requirements.arch: {others[0]}" if len(others) == 1 else ""
                raise OutputError(
                    "fleet",
                    f"the ranking holds {arch} types ({_few(types)}) but no {arch} launch "
                    f"template was given: add {arch}=<ID or name>{hint}",
                )
        return {arch: given[arch] for arch in by_arch}


def _few(types: Sequence[str], shown: int = 3) -> str:
    more = f", +{len(types) - shown} more" if len(types) > shown else ""
    return ", ".join(types[:shown]) + more


def launch_templates(
    single: str | None = None,
    per_arch: Iterable[tuple[str, str]] = (),
    *,
    version: str = "$Latest",
) -> LaunchTemplates:
    """One template (SINGLE) or one per architecture (PER_ARCH pairs, `amd64` read as x86_64)."""
    pairs = tuple(
        (ARCH_ALIASES.get(arch.strip(), arch.strip()), LaunchTemplate(ref.strip(), version))
        for arch, ref in per_arch
    )
    if single is None and not pairs:
        raise OutputError("launch template", "a launch template ID or name is required")
    return LaunchTemplates(
        single=None if single is None else LaunchTemplate(single.strip(), version), per_arch=pairs
    )


def parse_launch_templates(values: Iterable[str], *, version: str = "$Latest") -> LaunchTemplates:
    """Parse `lt-…` / `name` (one template) or `x86_64=lt-…,arm64=name` (per architecture);
    VALUES may repeat the option or comma-join the entries."""
    single: list[str] = []
    per_arch: list[tuple[str, str]] = []
    for value in values:
        for entry in (e.strip() for e in value.split(",")):
            if not entry:
                continue
            arch, sep, ref = entry.partition("=")
            if sep:
                per_arch.append((arch, ref))
            else:
                single.append(entry)
    if len(single) > 1:
        raise OutputError(
            "launch template",
            "several launch templates without an architecture: write x86_64=…,arm64=…",
        )
    return launch_templates(single[0] if single else None, per_arch, version=version)
