runbook "golden" version "1.0.0"

step "Mail" {
  run "mail ops" @ 3
}
