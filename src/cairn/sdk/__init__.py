"""What users touch: Artifact, Run, Api and their helpers."""
