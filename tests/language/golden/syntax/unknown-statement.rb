runbook "golden" version "1.0.0"

step "S" {
  restart "nginx"
  run "ok"
}
