runbook "golden" version "1.0.0"

step "S" {
  export appdb to "x.csv" format xml
  retry many
  sync appdb from prod
}
