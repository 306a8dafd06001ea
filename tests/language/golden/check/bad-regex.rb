runbook "bad-regex" version "1.0.0"

param branch = "haiti"

step "Only release branches" when branch matches "^release-(" {
  note "releasing ${branch}"
}
