runbook "bad-duration" version "1.0.0"

step "Wait for the portal" {
  wait until succeeds "curl -sf http://localhost/" every 0s timeout 5m
  timeout 0ms
}
