runbook "sync-into-protected" version "1.0.0"

database appdb = sqlite "/srv/app.sqlite"

env dev {}
env uat {}
env prod {
  protected
}

step "Sync data from uat" when env != "uat" {
  sync appdb from uat.appdb
  undo "true"
}
step "Sync data from uat, guarded" unless env == "prod" or env == "uat" {
  sync appdb from uat.appdb
  undo "true"
}
