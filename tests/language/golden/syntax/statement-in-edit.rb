# A statement inside an `edit` block: one error, no echo at the closing braces.
runbook "t" version "1.0.0"
step "a" {
  edit "/etc/x" {
    run "ls"
  }
}
