runbook "duplicate-option" version "1.0.0"

step "Migrate" {
  run "python migrate.py"
  timeout 10m
  retry 2 every 30s
  timeout 30m
  undo "python migrate.py --back"
  undo "true"
}
