runbook "golden" version "1.0.0"

step "S" {
  run "ls" "-l"
}
