runbook "golden" version "1.0.0"

step "List files" {
  run
}
