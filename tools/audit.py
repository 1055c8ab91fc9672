"""Audit the locked dependencies with pip-audit, and never call "could not check" a pass.

pip-audit asks a vulnerability service about every pinned package. Where the service cannot be
reached it marks the package as skipped, and without ``--strict`` it then prints "No known
vulnerabilities found"; with ``--strict`` a skip and a finding share one exit status. This
wrapper reads pip-audit's JSON report and tells the three outcomes apart:

- exit 0: every package was checked and none has a known vulnerability;
- exit 1: at least one package has a known vulnerability (listed);
- exit 2: the audit could not run, or some packages could not be checked (the reason is printed).

The service is pip-audit's own choice unless ``AUDIT_SERVICE`` (``pypi``, ``osv`` or ``esms``)
says otherwise; ``AUDIT_OSV_URL`` points the OSV service at a mirror, for example one inside a
company network. Nothing here names an index or service address of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CLEAN, FINDINGS, NOT_AUDITED = 0, 1, 2
SHOWN_SKIPS = 5


def pip_audit_command(requirements: Path, report: Path) -> list[str]:
    """The pip-audit invocation for ``requirements``, writing its JSON report to ``report``."""
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(requirements)]
    command += ["--no-deps", "--disable-pip", "--progress-spinner", "off"]
    command += ["--format", "json", "--output", str(report)]
    if service := os.environ.get("AUDIT_SERVICE"):
        command += ["--vulnerability-service", service]
    if osv_url := os.environ.get("AUDIT_OSV_URL"):
        command += ["--osv-url", osv_url]
    if cache_dir := os.environ.get("AUDIT_CACHE_DIR"):
        command += ["--cache-dir", cache_dir]
    return command


def verdict(report: dict) -> tuple[int, list[str]]:
    """The exit status and the lines to print for one pip-audit JSON report."""
    dependencies = report.get("dependencies", [])
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    lines = []
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            lines.append(
                f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})"
            )
    for dep in skipped[:SHOWN_SKIPS]:
        lines.append(f"NOT CHECKED {dep['name']}: {dep['skip_reason']}")
    if len(skipped) > SHOWN_SKIPS:
        lines.append(f"NOT CHECKED ... and {len(skipped) - SHOWN_SKIPS} more packages")
    if vulnerable:
        lines.append(
            f"audit: {len(vulnerable)} of {len(dependencies)} packages have known vulnerabilities"
        )
        return FINDINGS, lines
    if skipped or not dependencies:
        lines.append(
            f"audit: NOT RUN for {len(skipped)} of {len(dependencies)} packages: the vulnerability "
            "service could not be reached or did not know them. This is not a pass."
        )
        return NOT_AUDITED, lines
    lines.append(f"audit: {len(dependencies)} packages checked, no known vulnerabilities")
    return CLEAN, lines


def main(argv: list[str]) -> int:
    requirements = Path(argv[1] if len(argv) > 1 else "requirements.lock")
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        run = subprocess.run(
            pip_audit_command(requirements, report_path), capture_output=True, text=True
        )
        if not report_path.exists():
            reason = (run.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"audit: NOT RUN: pip-audit stopped (exit {run.returncode}): {reason}")
            return NOT_AUDITED
        status, lines = verdict(json.loads(report_path.read_text()))
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
