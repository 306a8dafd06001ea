runbook "query-not-read-only" version "1.0.0"

database appdb = sqlite "/srv/app.sqlite"

step "Clean" when query appdb "select count(*) from sessions; delete from sessions" == "0" {
  note "nothing to do"
}
