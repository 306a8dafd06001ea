runbook "golden" version "1.0.0"

var home = "/home/app"

step "Bad" {
  run "ls ${}"
  run "ls ${home dir}"
  run "cd ${home"
}
