# Each misuse of the new values is an error at its place.
runbook "misuse" version "1.0.0"

var home = "/srv/app"
var early = "${revision_before}"
secret bad = command "pass show ${home}"
host web = ["a@w1" { role = "x" name = "y" role = "z" }, "a@w2"]
host box = "b@box"

step "Too early" as too_early { run "echo ${revision_before}" }

step "Capture" as capture on box {
  run "echo ${revision_before}"
  run "cat REVISION" into revision_before
  run "cat other" into home
  run "cat again" into revision_before
  sql db_missing "delete from t" into gone
  undo {
    run "true" into in_undo
  }
}

step "Use" as use on web when revision_before == "1" {
  run "echo ${raw revision_before} ${host.role} ${host.port}"
  note "at ${revision_before} on ${host.name}"
  upload "${host.name}.conf" to "/etc/${revision_before}"
}

step "Local" as local_step { run "echo ${host.name}" }
