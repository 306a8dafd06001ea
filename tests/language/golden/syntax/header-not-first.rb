param x = "1"
runbook "golden" version "1.0.0"
