runbook "golden" version "1.0.0"

step "Greet" {
  run "echo hello
  note "done"
}
