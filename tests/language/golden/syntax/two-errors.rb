runbook "golden" version "1.0.0"

section "Deploy" {
  step "First" {
    run 42
  }
  step "Second" {
    confirm
    note "still parsed"
  }
}

step "Third" {
  wait until ready every soon
}
