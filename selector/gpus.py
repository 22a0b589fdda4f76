"""GPU model names and equivalence classes.

Single-GPU work rarely needs one exact model: a 16-24 GB inference-class card is
interchangeable for most jobs, and accepting the whole class is what lets such a job
reach the instance-type diversity that spot needs (several families, several zones).
Users may name a class anywhere a model is accepted (``gpu_models: [inference-16-24gb]``).
"""

from __future__ import annotations

__all__ = ["GPU_CLASSES", "expand_gpu_models", "gpu_class_of", "normalise_gpu_model"]

# Vendor prefixes the clouds put in front of model names ("NVIDIA A10G", "Tesla T4").
_VENDOR_PREFIXES = ("NVIDIA ", "TESLA ", "AMD ", "RADEON PRO ")

# Equivalence classes, by what a job can run on them interchangeably (memory per GPU and
# generation), not by price. Each model belongs to at most one class.
GPU_CLASSES: dict[str, tuple[str, ...]] = {
    # 16-24 GB per GPU, Turing/Ampere/Ada inference cards: g4dn, g5g, g5, g6 on AWS;
    # A10 (NVads A10 v5) on Azure; L4 (g2) and T4 on GCP. Fine-tuning of <= 7B models fits.
    "inference-16-24gb": ("T4", "T4G", "A10G", "A10", "L4"),
    # 32-48 GB Ada/Ampere workstation-class cards (g6e, g5 successors); bigger KV caches.
    "inference-32-48gb": ("L40S", "L40", "A40", "A6000"),
    # 16-32 GB HBM2 datacenter training cards of the Volta/Pascal era (p3, NC v3).
    "training-16-32gb": ("V100", "P100"),
    # 40-80 GB Ampere training cards (p4d/p4de, a2, ND A100 v4).
    "training-40-80gb": ("A100",),
    # 80 GB+ Hopper/Blackwell (p5, a3, ND H100 v5); interchangeable for large-model training.
    "training-80gb-plus": ("H100", "H200", "B200", "GH200"),
}

_MODEL_TO_CLASS = {model: name for name, models in GPU_CLASSES.items() for model in models}


def normalise_gpu_model(name: str) -> str:
    """Canonical upper-case model name: ``"nvidia a10g"`` -> ``"A10G"``."""
    text = " ".join(name.strip().upper().split())
    for prefix in _VENDOR_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
    # "A100-80GB" / "A100 80GB" are memory variants of the same model; memory is its own field.
    return text.replace("-", " ").split(" ")[0] if text else text


def gpu_class_of(model: str | None) -> str | None:
    """The equivalence class of a (raw or canonical) model name, or None."""
    if model is None:
        return None
    return _MODEL_TO_CLASS.get(normalise_gpu_model(model))


def expand_gpu_models(names: tuple[str, ...]) -> tuple[str, ...]:
    """Canonical model names for a user list where class names expand to their members.

    Returns sorted unique names so equal requests compare equal.
    """
    out: set[str] = set()
    for name in names:
        key = name.strip().lower()
        if key in GPU_CLASSES:
            out.update(GPU_CLASSES[key])
        else:
            out.add(normalise_gpu_model(name))
    return tuple(sorted(out))
