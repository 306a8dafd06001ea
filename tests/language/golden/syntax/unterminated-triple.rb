runbook "golden" version "1.0.0"

step "S" {
  sql appdb """
    select 1;
