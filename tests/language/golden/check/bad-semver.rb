runbook "bad-semver" version "1.0"

step "Hello" {
  note "hi"
}
