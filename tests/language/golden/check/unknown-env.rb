runbook "unknown-env" version "1.0.0"
default env dve

database appdb = sqlite "/srv/app.sqlite"

env dev {}
env prod {}

step "Inform testers" when env == "uat" {
  manual "Tell the testers"
}
step "Sync" when env in ["dev", "test"] {
  sync appdb from prd.appdb
}
step "Show" {
  note "prod is ${prd.home}"
}
