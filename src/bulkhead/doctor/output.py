"""The doctor's report as text (verdict first, then each layer and its evidence) or JSON."""

from __future__ import annotations

import json
from typing import Any

from bulkhead.doctor.model import Diagnosis, LayerReport, Report


def text(report: Report) -> str:
    """The verdict, a blank line, then every layer with its diagnoses and their evidence."""
    lines = [report.verdict, ""]
    for layer in report.layers:
        lines += _layer(layer)
    return "\n".join(lines) + "\n"


def _layer(layer: LayerReport) -> list[str]:
    detail = layer.reason or "; ".join(s for s in layer.seen if not s.startswith("not read"))
    lines = [f"{layer.layer}: {layer.state}" + (f" — {detail}" if detail else "")]
    lines += [f"  {s}" for s in layer.seen if s.startswith("not read")]
    for diagnosis in layer.diagnoses:
        lines += _diagnosis(diagnosis)
    return lines


def _diagnosis(d: Diagnosis) -> list[str]:
    lines = [f"  {d.rule.severity:<8}{d.rule.id}  {d.message}"]
    lines += [f"{'':12}- {e}" for e in d.evidence]
    lines.append(f"{'':12}fix: {d.fix or d.rule.fix}")
    if d.location:
        lines.append(f"{'':12}in the spec: {d.location}")
    return lines


def as_json(report: Report) -> str:
    """A stable JSON document: verdict, exit code, layers, diagnoses in verdict order."""
    document = {
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "layers": [_layer_json(layer) for layer in report.layers],
        "diagnoses": [_diagnosis_json(d) for d in report.diagnoses],
    }
    return json.dumps(document, indent=2) + "\n"


def _layer_json(layer: LayerReport) -> dict[str, Any]:
    return {
        "layer": str(layer.layer),
        "state": str(layer.state),
        "reason": layer.reason,
        "seen": list(layer.seen),
    }


def _diagnosis_json(d: Diagnosis) -> dict[str, Any]:
    return {
        "rule": d.rule.id,
        "title": d.rule.title,
        "layer": str(d.rule.layer),
        "severity": str(d.rule.severity),
        "subject": d.subject,
        "message": d.message,
        "evidence": list(d.evidence),
        "explanation": d.rule.explanation,
        "fix": d.fix or d.rule.fix,
        "location": str(d.location) if d.location else None,
    }
