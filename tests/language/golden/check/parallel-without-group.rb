runbook "parallel-without-group" version "1.0.0"

host portal  = "haiti@haiti.example.org"
host workers = ["app@w1.example.org", "app@w2.example.org"]

step "Restart the portal" on portal {
  run "systemctl restart portal"
  parallel 2
}
step "Restart the workers" on workers {
  run "systemctl restart worker"
  parallel 2
}
step "Locally" {
  run "make"
  parallel 4
}
