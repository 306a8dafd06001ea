runbook "unknown-database" version "1.0.0"

database appdb = sqlite "/srv/app.sqlite"

env dev {}
env prod {}

step "Data" when env == "dev" {
  require query apdb "select count(*) from users" != "0"
  sql appbd "update users set active = 1 where id = 2"
  export appdb to "backup.csv"
  import app from "backup.csv"
  sync appdb from prod.proddb
}
