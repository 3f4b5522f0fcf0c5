"""CDS-WG3-01 §10.9.3 EAC Data Format Descriptions: the `eac_format` values our certificates use.

The server metadata lists them as `cds_eac_formats` (§5), so every EAC object's `eac_format` must
be a key here (the demo's certificates use `wregis_certificate_json`). `documentation` is a path on
this server, made absolute when rendered.
"""

from __future__ import annotations

from typing import Final

from gridshare.config import Settings

EAC_FORMATS: Final[dict[str, dict[str, str]]] = {
    "wregis_certificate_json": {
        "id": "wregis_certificate_json",
        "name": "WREGIS certificate (JSON)",
        "description": (
            "A Western Renewable Energy Generation Information System certificate as a JSON "
            "object: registry, certificate_serial, generator, generator_id, fuel, vintage "
            "(calendar quarter), quantity_mwh (a decimal string) and location."
        ),
        "documentation": "/developers/oauth#eac-format-wregis_certificate_json",
    },
}


def eac_formats_json(settings: Settings) -> dict[str, dict[str, str]]:
    """The `cds_eac_formats` map (§5), with absolute documentation URLs."""
    return {
        key: {**described, "documentation": settings.url(described["documentation"])}
        for key, described in EAC_FORMATS.items()
    }
