runbook "golden" version "1.0.0"

step "S" {
  note "x"
}
}

step "T" {
  note "y"
}
