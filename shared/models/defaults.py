"""Defaults that depend on what only the build knows (the source image's Hyper-V generation)."""

from __future__ import annotations

from shared.models.template import ImageTemplate

_DEFAULT_VM_SIZES = {"V1": "Standard_D1_v2", "V2": "Standard_D2ds_v4"}


def default_vm_size(generation: str) -> str:
    """AIB's build VM size when ``vmProfile.vmSize`` is empty.

    Args:
        generation: the source image's Hyper-V generation, ``"V1"`` or ``"V2"`` (case-insensitive).

    Returns:
        ``Standard_D1_v2`` for Gen1 sources, ``Standard_D2ds_v4`` for Gen2 sources.

    Raises:
        ValueError: an unknown generation.
    """
    try:
        return _DEFAULT_VM_SIZES[generation.upper()]
    except KeyError:
        raise ValueError(f"unknown Hyper-V generation {generation!r}; expected 'V1' or 'V2'") from None


def with_default_vm_size(template: ImageTemplate, generation: str) -> ImageTemplate:
    """Return a copy of ``template`` whose empty ``vmSize`` is filled in for ``generation``.

    At submit time the source is not resolved yet, so an empty vmSize stays ``""``; the build calls
    this once it knows the source's generation. A vmSize the user gave is kept.
    """
    profile = template.properties.vmProfile
    if profile.vmSize:
        return template
    new_profile = profile.model_copy(update={"vmSize": default_vm_size(generation)})
    new_props = template.properties.model_copy(update={"vmProfile": new_profile})
    return template.model_copy(update={"properties": new_props})
