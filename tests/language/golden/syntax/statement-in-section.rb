runbook "golden" version "1.0.0"

section "S" {
  run "ls"
}
