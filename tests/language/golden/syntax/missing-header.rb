# no header here
param branch = "haiti"

step "Pull" {
  run "bzr pull ${branch}"
}
