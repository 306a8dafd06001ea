runbook "golden" version "1.0.0"

include "lib/does-not-exist.rb"

step "S" {
  note "x"
}
