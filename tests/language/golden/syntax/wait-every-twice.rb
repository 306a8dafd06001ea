# `every` given on both sides of `timeout`: one error at the second.
runbook "golden" version "1.0.0"

step "S" {
  wait until succeeds "true" every 1s timeout 1m every 2s
}
