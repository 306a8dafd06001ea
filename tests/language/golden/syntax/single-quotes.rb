runbook "golden" version "1.0.0"

host portal = 'app@example.org'
