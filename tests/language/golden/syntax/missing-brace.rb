runbook "golden" version "1.0.0"

step "Disable crontab" on portal
  run "crontab -r"
}
