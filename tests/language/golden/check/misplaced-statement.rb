runbook "misplaced-statement" version "1.0.0"

step "Migrate" {
  run "python migrate.py"
  undo {
    run "python migrate.py --back"
    timeout 5m
  }
}
