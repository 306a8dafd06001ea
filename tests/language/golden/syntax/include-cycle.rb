runbook "golden" version "1.0.0"

include "lib/cycle-b.rb"
