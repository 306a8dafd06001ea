runbook "sync-from-self" version "1.0.0"

database appdb = sqlite "/srv/app.sqlite"

env dev {}
env prod {}

step "Refresh" when env != "prod" {
  sync appdb from dev.appdb
}
