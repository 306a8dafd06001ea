runbook "golden" version "1.0.0"

step "Migrate" {
  run "./migrate.sh"
  timeout 10min
}
