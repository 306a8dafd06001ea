runbook "bad-count" version "1.0.0"

host workers = ["app@w1.example.org", "app@w2.example.org"]

step "Restart" on workers {
  run "systemctl restart app"
  undo "true"
  retry 0
  parallel 0
}
