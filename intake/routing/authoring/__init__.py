"""Template authoring: a new form's template from its blank PDF (``intake templates add``).

Apart from recognition on purpose: nothing here runs while scans are processed.
"""

from intake.routing.authoring.builder import detect_language, detect_template, existing_ids, write_template

__all__ = ["detect_language", "detect_template", "existing_ids", "write_template"]
