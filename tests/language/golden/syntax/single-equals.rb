runbook "golden" version "1.0.0"

step "S" when env = "prod" {
  note "x"
}
