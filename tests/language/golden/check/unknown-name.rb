runbook "unknown-name" version "1.0.0"

param branch = "haiti"
var   home   = "/home/haiti"
secret db_password = env "DB_PASSWORD"
database appdb = mysql "mysql://app@127.0.0.1/app" password db_pasword

env prod {}

step "Pull" {
  run "cd ${hom} && bzr pull ${branch} ${run.id} ${run.usr}"
  note "reading ${prod.hmoe} and ${xyzzy}"
}
step "Check" when brnach == "haiti" {
  note "ok"
}
