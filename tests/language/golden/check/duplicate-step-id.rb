runbook "duplicate-step-id" version "1.0.0"

section "Backup" {
  step "Export database" {
    note "one"
  }
  step "Backup" {
    note "two"
  }
}
section "Restore" {
  step "Export   database!" {
    note "three"
  }
  step "Import" as backup {
    note "four"
  }
}
